"""`api/connections/{name}/cli-login` and `%dbx_login NAME --from-cli`: an existing
`databricks auth login` (made here exactly as the CLI makes it: the public databricks-cli app, a
localhost:8020 callback, the token cache file) signs a connection in, and the server then keeps
refreshing it with the CLI's app. No response carries the refresh token."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from server_helpers import login, scim_me

from jupyter_dbx_auth.core.connections import AuthMethod, Connection
from jupyter_dbx_auth.core.oauth import OAuthEngine
from tests.browser import sign_in

ALICE = "alice@example.com"


@pytest.fixture
async def cli_cache(emulator, jp_environ) -> tuple[Path, str]:
    """`databricks auth login --host <emulator>`: tokens in ~/.databricks/token-cache.json."""
    engine = OAuthEngine()
    try:
        cli = Connection(name="cli", host=emulator.url, method=AuthMethod.USER)
        url, pending = await engine.begin_login(cli, "http://localhost:8020")
        password = emulator.user(ALICE)["password"]
        location = await asyncio.to_thread(sign_in, url, ALICE, password)
        code = parse_qs(urlsplit(location).query)["code"][0]
        tokens = await engine.exchange_code(cli, pending, code)
    finally:
        await engine.aclose()
    assert tokens.refresh_token is not None
    path = Path.home() / ".databricks" / "token-cache.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "access_token": tokens.access_token.reveal(),
        "token_type": "Bearer",
        "refresh_token": tokens.refresh_token.reveal(),
        "expiry": "2020-01-01T00:00:00Z",
    }
    path.write_text(json.dumps({"version": 1, "tokens": {emulator.url: entry}}))
    return path, entry["refresh_token"]


async def test_the_cli_sign_in_is_used_and_refreshed(browser, emulator, cli_cache, kernel_client):
    path, refresh = cli_cache
    r = await browser.get("dbx-auth/api/connections/ws/cli-login")
    assert r.status_code == 200, r.text
    assert r.json()["available"] is True and "token-cache.json" in r.json()["source"]

    assert (
        await browser.post("dbx-auth/api/connections/ws/cli-login", xsrf=False)
    ).status_code == 403
    r = await browser.post("dbx-auth/api/connections/ws/cli-login")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and body["identity"] == ALICE
    assert "databricks auth login" in body["note"] and "single-use" in body["note"]
    assert refresh not in r.text

    r = await kernel_client.get("dbx-auth/api/token", params={"connection": "ws"})
    assert r.status_code == 200, r.text
    assert (await scim_me(emulator.url, r.json()["access_token"])).json()["userName"] == ALICE
    assert emulator.token_requests().get("refresh_token", 0) >= 1  # refreshed with the CLI's app

    r = await browser.post("dbx-auth/api/connections/ws/cli-login")
    assert r.status_code == 409 and "overwrite" in r.json()["hint"]
    r = await browser.post("dbx-auth/api/connections/etl/cli-login")
    assert r.status_code == 400 and "user (U2M)" in r.json()["hint"]

    path.unlink()
    r = await browser.post("dbx-auth/api/connections/ws/cli-login", {"overwrite": True})
    assert r.status_code == 404 and "databricks auth login --host" in r.json()["hint"]


async def test_dbx_login_from_cli_in_a_kernel(emulator, cli_cache, dbx_app, server_url):
    """The magic, through the kernel API (this process holds the kernel key, as kernels do)."""
    from IPython.core.interactiveshell import InteractiveShell

    from jupyter_dbx_auth.kernel.backends import set_backend

    set_backend(None)
    shell = InteractiveShell.instance()
    try:
        shell.run_line_magic("load_ext", "jupyter_dbx_auth")

        def run() -> str:
            import contextlib
            import io

            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                shell.run_line_magic("dbx_login", "ws --from-cli")
            return out.getvalue()

        text = await asyncio.to_thread(run)
    finally:
        set_backend(None)
        InteractiveShell.clear_instance()
    assert f"ws: signed in as {ALICE}" in text and "databricks auth login" in text, text
    assert cli_cache[1] not in text


async def test_a_refused_cli_sign_in_loses_nothing(browser, emulator, kernel_client):
    """The CLI's refresh token is refused by Databricks (revoked, or used up by the CLI): the
    import says so in words, and the sign-in it was to replace is still there and still works."""
    await login(browser, emulator, "ws", "bob@example.com")
    path = Path.home() / ".databricks" / "token-cache.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    dead = "not-a-refresh-token-databricks-issued"
    entry = {"access_token": "x", "token_type": "Bearer", "refresh_token": dead, "expiry": ""}
    path.write_text(json.dumps({"version": 1, "tokens": {emulator.url: entry}}))

    r = await browser.post("dbx-auth/api/connections/ws/cli-login", {"overwrite": True})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "LoginRequired"
    assert body["message"].startswith("Databricks refused the Databricks CLI's sign-in for ws")
    assert "databricks auth login --host" in body["hint"]
    assert "Your previous sign-in is kept." in body["hint"]
    assert dead not in r.text

    listed = {
        c["name"]: c for c in (await browser.get("dbx-auth/api/connections")).json()["connections"]
    }
    assert listed["ws"]["status"] == "ok" and listed["ws"]["identity"] == "bob@example.com"
    r = await kernel_client.get("dbx-auth/api/token", params={"connection": "ws"})
    assert r.status_code == 200, r.text
    me = await scim_me(emulator.url, r.json()["access_token"])
    assert me.json()["userName"] == "bob@example.com"


async def test_a_refused_cli_sign_in_on_a_signed_out_connection(browser, emulator):
    path = Path.home() / ".databricks" / "token-cache.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"access_token": "x", "token_type": "Bearer", "refresh_token": "dead", "expiry": ""}
    path.write_text(json.dumps({"version": 1, "tokens": {emulator.url: entry}}))
    r = await browser.post("dbx-auth/api/connections/ws/cli-login")
    assert r.status_code == 409, r.text
    assert "previous sign-in" not in r.json()["hint"]
    listed = {
        c["name"]: c for c in (await browser.get("dbx-auth/api/connections")).json()["connections"]
    }
    assert listed["ws"]["status"] != "ok"
