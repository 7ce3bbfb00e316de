"""Kernels that report a refused token: one refresh for many reports, never a refresh loop."""

from __future__ import annotations

import asyncio

from server_helpers import login

from jupyter_dbx_auth.core.oauth.tokens import fingerprint
from jupyter_dbx_auth.core.secret import Secret


async def test_many_kernels_reporting_one_rejected_token_cause_one_refresh(
    browser, kernel_client, emulator
):
    await login(browser, emulator)
    first = (await kernel_client.get("dbx-auth/api/token", params={"connection": "ws"})).json()
    before = emulator.token_requests().get("refresh_token", 0)

    params = {
        "connection": "ws",
        "refresh": "1",
        "rejected": fingerprint(Secret(first["access_token"])),
    }
    replies = await asyncio.gather(
        *(kernel_client.get("dbx-auth/api/token", params=params) for _ in range(8))
    )

    assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
    tokens = {r.json()["access_token"] for r in replies}
    assert len(tokens) == 1
    assert first["access_token"] not in tokens
    assert emulator.token_requests().get("refresh_token", 0) - before == 1

    # A late report of the same old token gets the current token, not another refresh.
    late = await kernel_client.get("dbx-auth/api/token", params=params)
    assert late.json()["access_token"] in tokens
    assert emulator.token_requests().get("refresh_token", 0) - before == 1
