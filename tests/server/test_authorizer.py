"""A Jupyter `Authorizer` decides (issue 15): JupyterHub's scopes arrive through exactly this path.

Two authorizers that allow everything else on the server (so the Jupyter login works) and restrict
the `dbx-auth` resource: one denies it, one allows only `read`. Every endpoint, the sign-in pages
and the callback are tried with a valid cookie and XSRF token, so a 403 can only come from the
authorizer. The read-only one must still be able to read (else the test could pass with a server
that refuses everything), and the authorizer must have been asked about `dbx-auth` for each.
"""

from __future__ import annotations

from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer

RESOURCE = "dbx-auth"
ASKED: list[tuple[str, str]] = []


class DenyDbxAuth(Authorizer):
    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        if resource == RESOURCE:
            ASKED.append((action, resource))
            return False
        return True


class ReadOnlyDbxAuth(Authorizer):
    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        if resource == RESOURCE:
            ASKED.append((action, resource))
            return action == "read"
        return True


READS = [
    ("GET", "dbx-auth/api/version"),
    ("GET", "dbx-auth/api/connections"),
    ("GET", "dbx-auth/api/service-principals"),
    ("GET", "dbx-auth/api/events"),
]
WRITES = [
    ("POST", "dbx-auth/api/connections/ws/login"),
    ("POST", "dbx-auth/api/connections/ws/logout"),
    ("POST", "dbx-auth/api/service-principals"),
    ("DELETE", "dbx-auth/api/service-principals?connection=etl&client_id=x"),
    ("GET", "dbx-auth/login/ws"),  # the sign-in page exists only to start a sign-in: write
    ("POST", "dbx-auth/login/ws"),
    ("GET", "dbx-auth/callback?code=abc&state=def"),
    ("GET", "dbx-auth/callback?error=access_denied&state=def"),
]


@pytest.fixture(params=[DenyDbxAuth, ReadOnlyDbxAuth], ids=["deny", "read-only"])
def authorizer(request):
    return request.param


@pytest.fixture
def jp_server_config(jp_server_config, authorizer):
    ASKED.clear()
    return {
        **jp_server_config,
        "ServerApp": {**jp_server_config["ServerApp"], "authorizer_class": authorizer},
    }


async def _request(browser, method: str, path: str):
    url = browser.server_url + path
    if method == "GET" and path.endswith("api/events"):
        async with browser.http.stream("GET", url) as stream:
            return stream.status_code, stream.headers.get("content-type", "")
    if path.startswith("dbx-auth/login/") and method == "POST":
        r = await browser.http.post(url, data={"_xsrf": browser.http.cookies.get("_xsrf")})
    else:
        r = await browser.http.request(method, url, content=b"{}", headers=browser.xsrf())
    return r.status_code, r.text


@pytest.mark.parametrize(("method", "path"), WRITES)
async def test_writes_sign_in_pages_and_callback_are_refused(
    browser, authorizer, dbx_app, method, path
):
    before = len(dbx_app.service.pending)
    status, text = await _request(browser, method, path)
    assert status == 403, (status, text)
    assert len(dbx_app.service.pending) == before  # no sign-in started
    assert ASKED, "the authorizer was never asked about dbx-auth"


@pytest.mark.parametrize(("method", "path"), READS)
async def test_reads_follow_the_authorizer(browser, authorizer, method, path):
    status, text = await _request(browser, method, path)
    expected = 403 if authorizer is DenyDbxAuth else 200
    assert status == expected, (status, text)
    assert ("read", RESOURCE) in ASKED
