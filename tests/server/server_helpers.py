"""Helpers for the server tests (imported by conftest and the test modules)."""

from __future__ import annotations

import asyncio
import html
import json
import re
from typing import Any
from urllib.parse import urlencode

import httpx

BASE_URL = "/a%40b/"
CANARY = "canary-secret-7f3a9c-DO-NOT-LEAK"
ETL_SP = "emulator-etl-sp"


class Browser:
    """A cookie-jar HTTP client that behaves like the user's browser towards Jupyter."""

    def __init__(self, server_url: str, token: str) -> None:
        self.server_url = server_url
        self.token = token
        self.http = httpx.AsyncClient(trust_env=False, timeout=20, follow_redirects=False)
        self.http_host = httpx.URL(server_url).netloc.decode()

    async def log_in(self) -> None:
        # The login page hands out the _xsrf cookie (JupyterLab's page does so in a browser);
        # then the token URL gives the cookie jar Jupyter's login cookie.
        await self.http.get(f"{self.server_url}login")
        assert self.http.cookies.get("_xsrf")
        r = await self.http.get(f"{self.server_url}api/status?token={self.token}")
        assert r.status_code == 200, r.text

    def xsrf(self) -> dict[str, str]:
        return {"X-XSRFToken": self.http.cookies.get("_xsrf") or ""}

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.http.get(self.server_url + path, **kw)

    async def post(self, path: str, body: Any = None, *, xsrf: bool = True, **kw: Any):
        headers = {**(self.xsrf() if xsrf else {}), **kw.pop("headers", {})}
        return await self.http.post(
            self.server_url + path, content=json.dumps(body or {}), headers=headers, **kw
        )

    async def delete(self, path: str, params: dict[str, str], *, xsrf: bool = True):
        return await self.http.delete(
            f"{self.server_url}{path}?{urlencode(params)}", headers=self.xsrf() if xsrf else {}
        )

    async def aclose(self) -> None:
        await self.http.aclose()


async def sign_in_async(authorize_url: str, username: str, password: str, **kw: Any) -> str:
    from tests.browser import sign_in

    return await asyncio.to_thread(sign_in, authorize_url, username, password, **kw)


async def login(
    browser: Browser, emulator, connection: str = "ws", user: str = "alice@example.com"
):
    """Full U2M login through the emulator's sign-in form; returns the callback response."""
    r = await browser.post(f"dbx-auth/api/connections/{connection}/login")
    assert r.status_code == 200, r.text
    location = await sign_in_async(r.json()["authorize_url"], user, emulator.user(user)["password"])
    assert location.startswith(browser.server_url + "dbx-auth/callback?"), location
    return await browser.http.get(location)


async def scim_me(emulator_url: str, access_token: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        return await http.get(
            f"{emulator_url}/api/2.0/preview/scim/v2/Me",
            headers={"Authorization": f"Bearer {access_token}"},
        )


async def open_sign_in_link(browser: Browser, link: str = "dbx-auth/login/ws") -> str:
    """The person opens a kernel's sign-in link: a page with a button whose POST (with `_xsrf`)
    starts the sign-in; the page it answers links on to Databricks. The authorize URL."""
    page = await browser.get(link)
    assert page.status_code == 200, page.text
    form = {"_xsrf": browser.http.cookies.get("_xsrf")}
    started = await browser.http.post(browser.server_url + link, data=form)
    assert started.status_code == 200, started.text
    return html.unescape(re.search(r'id="authorize" href="([^"]+)"', started.text)[1])
