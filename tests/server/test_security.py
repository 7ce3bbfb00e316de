"""The security list of issue 4: authentication, XSRF, the kernel key, state, redirects."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from server_helpers import BASE_URL, login, sign_in_async

from jupyter_dbx_auth.core.service import BadRequest, safe_next

ENDPOINTS = [
    ("GET", "dbx-auth/api/version"),
    ("GET", "dbx-auth/api/connections"),
    ("POST", "dbx-auth/api/connections/ws/login"),
    ("POST", "dbx-auth/api/connections/ws/logout"),
    ("GET", "dbx-auth/api/service-principals"),
    ("POST", "dbx-auth/api/service-principals"),
    ("DELETE", "dbx-auth/api/service-principals?connection=etl&client_id=x"),
    ("GET", "dbx-auth/api/token?connection=ws"),
    ("GET", "dbx-auth/api/events"),
    ("GET", "dbx-auth/login/ws"),
    ("GET", "dbx-auth/callback?code=abc&state=def"),
]
WRITES = [(m, p) for m, p in ENDPOINTS if m in ("POST", "DELETE")]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_anonymous_is_refused_everywhere(server_url, method, path):
    async with httpx.AsyncClient(trust_env=False, timeout=10) as anon:
        r = await anon.request(method, server_url + path, content=b"{}")
    if r.status_code == 302:  # HTML pages send a browser to the login page
        assert urlsplit(r.headers["Location"]).path == f"{BASE_URL}login"
    else:
        assert r.status_code == 403, (r.status_code, r.text)
        assert "token" not in r.text.lower() or "access_token" not in r.text


@pytest.mark.parametrize(("method", "path"), WRITES)
async def test_writes_without_xsrf_are_refused(browser, method, path):
    r = await browser.http.request(method, browser.server_url + path, content=b"{}")
    assert r.status_code == 403, r.text


async def test_kernel_api_refuses_cookies_tokens_and_wrong_keys(
    browser, server_url, kernel_headers, jp_serverapp
):
    token_url = server_url + "dbx-auth/api/token?connection=ws"
    # The browser's own cookie (and XSRF) is not enough for the token endpoint...
    assert (await browser.http.get(token_url, headers=browser.xsrf())).status_code == 403
    # ... nor the cookie together with the right key,
    assert (await browser.http.get(token_url, headers=kernel_headers)).status_code == 403
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        jupyter_token = jp_serverapp.identity_provider.token
        # ... nor the Jupyter token, in the header or the query,
        r = await http.get(token_url, headers={"Authorization": f"token {jupyter_token}"})
        assert r.status_code == 403
        r = await http.get(f"{token_url}&token={jupyter_token}", headers=kernel_headers)
        assert r.status_code == 403
        # ... nor a wrong key, a truncated key or an empty one.
        for bad in ("DbxKernelKey nope", kernel_headers["Authorization"][:-1], "DbxKernelKey"):
            r = await http.get(token_url, headers={"Authorization": bad})
            assert r.status_code == 403, bad
            r = await http.get(
                server_url + "dbx-auth/api/connections", headers={"Authorization": bad}
            )
            assert r.status_code == 403, bad
            r = await http.post(
                server_url + "dbx-auth/api/connections/ws/login",
                headers={"Authorization": bad},
                content=b"{}",
            )
            assert r.status_code == 403, bad
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        # The right key alone works (the connection is not signed in yet: 409, not 403).
        r = await http.get(token_url, headers=kernel_headers)
        assert r.status_code == 409, r.text


async def test_kernel_key_cannot_delete_service_principals(kernel_client):
    r = await kernel_client.delete(
        "dbx-auth/api/service-principals", params={"connection": "etl", "client_id": "x"}
    )
    assert r.status_code == 403


async def _callback_location(browser, emulator) -> str:
    r = await browser.post("dbx-auth/api/connections/ws/login")
    assert r.status_code == 200, r.text
    return await sign_in_async(
        r.json()["authorize_url"],
        "alice@example.com",
        emulator.user("alice@example.com")["password"],
    )


def _with_state(location: str, state: str) -> str:
    parts = urlsplit(location)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["state"] = state
    return parts._replace(query=urlencode(query)).geturl()


async def test_state_replay_is_refused(browser, emulator):
    location = await _callback_location(browser, emulator)
    assert (await browser.http.get(location)).status_code == 200
    again = await browser.http.get(location)
    assert again.status_code == 400
    assert "already used" in again.text
    assert f'href="{BASE_URL}lab"' in again.text


async def test_state_mismatch_is_refused(browser, emulator):
    location = await _callback_location(browser, emulator)
    r = await browser.http.get(_with_state(location, "forged-state"))
    assert r.status_code == 400 and "unknown" in r.text
    r = await browser.http.get(_with_state(location, ""))
    assert r.status_code == 400


async def test_expired_state_is_refused(browser, emulator, dbx_app):
    location = await _callback_location(browser, emulator)
    pending = dbx_app.service.pending
    real_clock = pending._clock
    pending._clock = lambda: real_clock() + pending.ttl + 1
    r = await browser.http.get(location)
    assert r.status_code == 400 and "expired" in r.text


async def test_another_users_state_is_refused_and_burnt(browser_factory, emulator):
    alice = await browser_factory()
    mallory = await browser_factory()  # another cookie jar: another Jupyter user
    location = await _callback_location(alice, emulator)
    r = await mallory.http.get(location)
    assert r.status_code == 400 and "another Jupyter user" in r.text
    assert (await alice.http.get(location)).status_code == 400  # single-use, even then


async def test_idp_errors_are_shown_escaped(browser, emulator):
    r = await browser.post("dbx-auth/api/connections/ws/login")
    location = await sign_in_async(
        r.json()["authorize_url"],
        "alice@example.com",
        emulator.user("alice@example.com")["password"],
        action="deny",
    )
    page = await browser.http.get(location)
    assert page.status_code == 400 and "access_denied" in page.text
    page = await browser.get(
        "dbx-auth/callback?" + urlencode({"error": "<script>alert(1)</script>", "state": "x"})
    )
    assert page.status_code == 400
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text


OPEN_REDIRECTS = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "/other/path",
    f"{BASE_URL}../../evil",
    f"{BASE_URL}%2e%2e/%2e%2e/evil",
    f"{BASE_URL}lab\n//evil.example",
    f"{BASE_URL}lab\t",
    f"https://127.0.0.1{BASE_URL}lab",
]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_safe_next_refuses(target):
    assert safe_next(target, BASE_URL) is None


def test_safe_next_accepts_paths_under_base_url():
    for ok in (f"{BASE_URL}lab", f"{BASE_URL}lab/tree/a%20b.ipynb?x=1#frag"):
        assert safe_next(ok, BASE_URL) == ok


async def test_open_redirects_are_refused_by_the_endpoints(browser):
    for target in OPEN_REDIRECTS:
        r = await browser.post("dbx-auth/api/connections/ws/login", {"next": target})
        assert r.status_code == 400, target
        page = await browser.get("dbx-auth/login/ws?" + urlencode({"next": target}))
        assert page.status_code == 400, target


async def test_non_loopback_server_without_an_app_explains(dbx_app):
    # As with no custom app configured (the fixtures configure one for the sign-in tests).
    conn = dataclasses.replace(dbx_app.service.get("ws"), client_id=None)
    with pytest.raises(BadRequest) as err:
        dbx_app.service.redirect_uri(
            conn, protocol="https", host="attacker.invalid", base_url=BASE_URL
        )
    # The Host header is the client's word: it is neither used nor echoed (finding 8).
    assert "oauth-app.md" in err.value.hint and "public_url" in err.value.hint
    assert "attacker.invalid" not in err.value.hint + err.value.message
    uri = dbx_app.service.redirect_uri(conn, protocol="http", host="[::1]:8888", base_url="/")
    assert uri == "http://[::1]:8888/dbx-auth/callback"


async def test_login_of_a_service_principal_connection_is_a_400(browser):
    r = await browser.post("dbx-auth/api/connections/etl/login")
    assert r.status_code == 400 and r.json()["hint"]
    r = await browser.post("dbx-auth/api/connections/nope/login")
    assert r.status_code == 404 and "ws" in r.json()["hint"]


async def test_callback_page_escapes_everything_it_echoes(browser, emulator):
    r = await login(browser, emulator)
    assert r.status_code == 200
    assert r.headers["Referrer-Policy"] == "no-referrer"


async def test_token_responses_are_not_cacheable(browser, kernel_client, emulator):
    await login(browser, emulator)
    r = await kernel_client.get("dbx-auth/api/token", params={"connection": "ws"})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert "etag" not in r.headers  # an ETag would be a hash of the token


@pytest.mark.parametrize("key", ["DbxKernelKey junk", "DbxKernelKey", "dbxkernelkey x y"])
async def test_a_fake_kernel_key_header_does_not_switch_xsrf_off(browser, emulator, key):
    sp = emulator.service_principal("emulator-etl-sp")
    body = {"connection": "etl", "client_id": sp["client_id"], "client_secret": sp["secret"]}
    assert (await browser.post("dbx-auth/api/service-principals", body)).status_code == 201
    params = {"connection": "etl", "client_id": sp["client_id"]}
    r = await browser.http.delete(
        browser.server_url + "dbx-auth/api/service-principals",
        params=params,
        headers={"Authorization": key},
    )
    assert r.status_code == 403, r.text
    listed = (await browser.get("dbx-auth/api/service-principals")).json()
    assert any(p["client_id"] == sp["client_id"] for p in listed["service_principals"])
