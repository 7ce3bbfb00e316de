"""The kernel token API across access-token expiries (emulator with 5-second tokens)."""

from __future__ import annotations

import asyncio

import pytest
from server_helpers import login, scim_me


@pytest.fixture
def dbx_emulator(emulator_factory):
    return emulator_factory(token_ttl=5)


@pytest.mark.slow
async def test_token_api_keeps_tokens_valid_across_expiries(dbx_emulator, browser, kernel_client):
    await login(browser, dbx_emulator)
    seen: set[str] = set()
    loop = asyncio.get_running_loop()
    end = loop.time() + 16  # three 5-second lifetimes
    while loop.time() < end:
        r = await kernel_client.get("dbx-auth/api/token", params={"connection": "ws"})
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        me = await scim_me(dbx_emulator.url, token)
        assert me.status_code == 200, (me.status_code, me.text)
        seen.add(token)
        await asyncio.sleep(0.5)
    assert len(seen) >= 4  # refreshed at least once per lifetime
