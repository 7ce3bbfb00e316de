"""`dbx-auth/login/{name}`: a GET shows a button; only a POST with `_xsrf` starts a sign-in."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

from server_helpers import BASE_URL, sign_in_async


def _attr(page: str, element_id: str, attr: str) -> str:
    match = re.search(rf'<[^>]*id="{element_id}"[^>]*\b{attr}="([^"]*)"', page)
    assert match, page
    return html.unescape(match.group(1))


def _hidden(page: str, name: str) -> str | None:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', page)
    return html.unescape(match.group(1)) if match else None


async def test_a_get_starts_nothing_and_shows_a_form_that_posts_back(browser, dbx_app):
    """A cross-site link or redirect is a GET: it must not start a sign-in (finding 2)."""
    before = len(dbx_app.service.pending)
    page = await browser.get("dbx-auth/login/ws?" + urlencode({"next": f"{BASE_URL}lab/tree"}))
    assert page.status_code == 200, page.text
    assert len(dbx_app.service.pending) == before  # nothing started
    assert "Location" not in page.headers
    assert re.search(r'<form id="start" method="post"', page.text)
    assert _attr(page.text, "start", "action") == f"{BASE_URL}dbx-auth/login/ws"
    assert _hidden(page.text, "_xsrf")  # tornado's masked token (a fresh mask each time)
    assert _hidden(page.text, "next") == f"{BASE_URL}lab/tree"
    csp = page.headers["Content-Security-Policy"]
    assert "form-action 'self'" in csp and "frame-ancestors 'none'" in csp


async def test_a_post_without_xsrf_is_refused_and_starts_nothing(browser, dbx_app):
    before = len(dbx_app.service.pending)
    r = await browser.http.post(browser.server_url + "dbx-auth/login/ws", data={})
    assert r.status_code == 403
    r = await browser.http.post(browser.server_url + "dbx-auth/login/ws", data={"_xsrf": "forged"})
    assert r.status_code == 403
    assert len(dbx_app.service.pending) == before


async def test_the_button_starts_the_sign_in_and_it_completes(browser, dbx_app, emulator):
    page = await browser.get("dbx-auth/login/ws?" + urlencode({"next": f"{BASE_URL}lab/tree"}))
    form = {"_xsrf": _hidden(page.text, "_xsrf"), "next": _hidden(page.text, "next")}
    started = await browser.http.post(browser.server_url + "dbx-auth/login/ws", data=form)
    assert started.status_code == 200, started.text
    assert len(dbx_app.service.pending) == 1
    authorize_url = _attr(started.text, "authorize", "href")
    assert authorize_url.startswith(emulator.url)
    assert f'content="0; url={html.escape(authorize_url)}"' in started.text  # meta refresh
    # No 302 after a POST: the page's CSP form-action would block the cross-origin redirect.
    assert "Location" not in started.headers
    location = await sign_in_async(
        authorize_url, "alice@example.com", emulator.user("alice@example.com")["password"]
    )
    done = await browser.http.get(location)
    assert done.status_code == 200, done.text
    assert f'data-next="{BASE_URL}lab/tree"' in done.text


async def test_a_posted_next_off_this_server_is_refused(browser, dbx_app):
    page = await browser.get("dbx-auth/login/ws")
    assert _hidden(page.text, "next") is None
    form = {"_xsrf": _hidden(page.text, "_xsrf"), "next": "https://evil.example/"}
    r = await browser.http.post(browser.server_url + "dbx-auth/login/ws", data=form)
    assert r.status_code == 400 and "not on this Jupyter server" in r.text
    assert len(dbx_app.service.pending) == 0
