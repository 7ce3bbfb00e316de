"""A login imported from the Databricks CLI is usable: refreshed with the CLI's app, then kept."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs, urlsplit

import httpx

from jupyter_dbx_auth.core.broker import TokenBroker
from jupyter_dbx_auth.core.cli_import import import_cli_login
from jupyter_dbx_auth.core.connections import AuthMethod, Connection
from jupyter_dbx_auth.core.oauth import OAuthEngine
from jupyter_dbx_auth.core.store.memory import MemoryStore
from tests.browser import sign_in

ALICE = "alice@example.com"
PUBLIC_CUSTOM_APP = "7c0b5e0e-1111-4a1a-8a1a-00000000c002"


async def _cli_login(emulator, engine: OAuthEngine):
    """What `databricks auth login` does: the public databricks-cli app, a loopback callback."""
    cli = Connection(name="cli", host=emulator.url, method=AuthMethod.USER)
    url, pending = await engine.begin_login(cli, "http://localhost:8020")
    password = emulator.user(ALICE)["password"]
    location = await asyncio.to_thread(sign_in, url, ALICE, password)
    code = parse_qs(urlsplit(location).query)["code"][0]
    return await engine.exchange_code(cli, pending, code)


def _me(emulator, token) -> str:
    r = httpx.get(
        f"{emulator.url}/api/2.0/preview/scim/v2/Me",
        headers={"Authorization": f"Bearer {token.access_token.reveal()}"},
    )
    assert r.status_code == 200, r.text
    return r.json()["userName"]


async def test_an_imported_cli_login_refreshes_with_the_cli_app(emulator, tmp_path):
    engine = OAuthEngine()
    cli_tokens = await _cli_login(emulator, engine)
    cache = tmp_path / "token-cache.json"
    cache.write_text(
        json.dumps(
            {
                "version": 1,
                "tokens": {
                    "emu": {
                        "access_token": cli_tokens.access_token.reveal(),
                        "token_type": "Bearer",
                        "refresh_token": cli_tokens.refresh_token.reveal(),
                        "expiry": "2020-01-01T00:00:00Z",
                    }
                },
            }
        )
    )
    store = MemoryStore()
    import_cli_login(
        store, "emu", host=emulator.url, profile="emu", cache_path=cache, use_keyring=False
    )

    # The connection signs users in with a custom app, but this refresh token is the CLI's.
    broker = TokenBroker(store, engine)
    conn = Connection(
        name="emu", host=emulator.url, method=AuthMethod.USER, client_id=PUBLIC_CUSTOM_APP
    )
    first = await broker.get_token(conn)
    assert _me(emulator, first) == ALICE
    second = await broker.get_token(conn, force_refresh=True)  # the rotated record still works
    assert _me(emulator, second) == ALICE
    assert store.get("u2m", "emu")["client_id"] == "databricks-cli"
    assert emulator.token_requests().get("refresh_token", 0) == 2
    await engine.aclose()
