"""The identity of a user connection is known whenever the connection is listed as signed in.

The broker reports "ok" as soon as the code is exchanged; SCIM Me answers later. A listing in
between (a kernel's `%dbx_connect` waiting for the sign-in, the sidebar) must wait for the
identity instead of answering "ok" without it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from server_helpers import login

ALICE = "alice@example.com"


async def test_listing_during_the_identity_read_waits_for_it(
    browser, kernel_client, dbx_app, emulator
) -> None:
    service = dbx_app.service
    read = service.identities.read
    reading = asyncio.Event()

    async def slow_read(conn: Any, tokens: Any) -> None:
        reading.set()
        await asyncio.sleep(0.5)  # SCIM Me on a slow day
        await read(conn, tokens)

    service.identities.read = slow_read
    callback = asyncio.ensure_future(login(browser, emulator))
    await asyncio.wait_for(reading.wait(), 30)
    listed = (await kernel_client.get("dbx-auth/api/connections")).json()["connections"]
    ws = next(c for c in listed if c["name"] == "ws")
    assert (ws["status"], ws["identity"]) == ("ok", ALICE)
    page = await callback
    assert page.status_code == 200 and ALICE in page.text
    assert service.identity_of("ws") == ALICE
