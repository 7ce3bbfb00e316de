"""The IdP down for a while (emulator fault knob) while kernels keep calling.

What must hold: cached tokens keep serving until they expire, errors met meanwhile say what
happened and what to do, the service recovers by itself when the IdP is back, and nothing is
lost (the sign-in survives: no new login is needed).

The suite runs a short outage on short-lived tokens (20 s tokens, a 30 s outage, ~45 s in all):
long enough that the token in use expires during it, so every phase is seen. The issue's 5-minute
outage is the `long` variant: marked slow and run only with DBX_RELIABILITY_LONG=1 (about 7
minutes).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import dataclass

import pytest
from server_helpers import login, scim_me

from jupyter_dbx_auth.core.errors import DbxAuthError
from jupyter_dbx_auth.core.secret import Secret
from jupyter_dbx_auth.kernel.server_client import ServerClient
from jupyter_dbx_auth.kernel.tokens import TokenCache

KERNELS = 3
INTERVAL = 0.2  # seconds between one kernel's calls


@dataclass
class Call:
    at: float
    token: str | None
    expires_at: float | None
    error: DbxAuthError | None


@pytest.fixture
def dbx_emulator(emulator_factory, request):
    return emulator_factory(token_ttl=request.param)


def _kernel(client: ServerClient, calls: list[Call], stop: threading.Event) -> None:
    cache = TokenCache(lambda rejected: client.token("ws"), label="ws")
    while not stop.is_set():
        now = time.time()
        try:
            token = cache.token()
            calls.append(Call(now, token.access_token.reveal(), token.expires_at, None))
        except DbxAuthError as exc:
            calls.append(Call(now, None, None, exc))
        stop.wait(INTERVAL)


@pytest.mark.parametrize(
    ("dbx_emulator", "outage"),
    [
        pytest.param(20, 30.0, id="short"),
        pytest.param(
            120,
            300.0,
            id="long",
            marks=[
                pytest.mark.slow,
                pytest.mark.timeout(900),
                pytest.mark.skipif(
                    not os.environ.get("DBX_RELIABILITY_LONG"),
                    reason="the 5-minute outage runs with DBX_RELIABILITY_LONG=1",
                ),
            ],
        ),
    ],
    indirect=["dbx_emulator"],
)
@pytest.mark.timeout(600)
async def test_idp_outage_while_kernels_keep_calling(
    browser, dbx_emulator, dbx_app, server_url, outage
):
    emulator = dbx_emulator
    await login(browser, emulator)
    key = Secret(dbx_app.kernel_key.header().split(" ", 1)[1])
    clients = [ServerClient(server_url, key) for _ in range(KERNELS)]
    calls: list[list[Call]] = [[] for _ in clients]
    stop = threading.Event()
    threads = [
        threading.Thread(target=_kernel, args=(c, log, stop), daemon=True)
        for c, log in zip(clients, calls, strict=True)
    ]
    for t in threads:
        t.start()
    try:
        await asyncio.sleep(1.0)
        emulator.set_down(True)
        down_at = time.time()
        await asyncio.sleep(outage)
        emulator.set_down(False)
        up_at = time.time()
        # Recovery by itself: no action but the kernels' own calls.
        deadline = up_at + 30
        while time.time() < deadline:
            if all(log and log[-1].token and log[-1].at > up_at for log in calls):
                break
            await asyncio.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            await asyncio.to_thread(t.join, 10)
        for c in clients:
            c.close()

    before = {c.token for log in calls for c in log if c.at < down_at and c.token}
    assert before, "no token before the outage"
    for log in calls:
        # 1. While the token held at the outage's start was valid, every call was served.
        held = max((c for c in log if c.at < down_at and c.token), key=lambda c: c.at)
        assert held.expires_at is not None
        during_valid = [c for c in log if down_at <= c.at < held.expires_at - 6]
        assert during_valid and all(c.token for c in during_valid), [
            str(c.error) for c in during_valid if c.error
        ]
        # Every token served was within its life when served.
        assert all(c.expires_at is None or c.at < c.expires_at for c in log if c.token)
        # 2. Once it ran out with the IdP still down: errors that say what happened and what to do.
        errors = [c.error for c in log if c.error is not None]
        assert errors, "the outage outlasted the token: the kernel must have been told"
        for err in errors:
            assert err.message and err.hint, err
            assert "Traceback" not in str(err)
        assert any("unavailable" in str(e).lower() or "failed" in str(e).lower() for e in errors)
        assert all(down_at <= c.at <= up_at + 15 for c in log if c.error), "errors outside"
        # 3. Back by itself, with a new token that Databricks accepts.
        last = log[-1]
        assert last.token and last.at > up_at and last.token not in before
    me = await scim_me(emulator.url, calls[0][-1].token or "")
    assert me.status_code == 200
    # 4. Nothing lost: the sign-in survived the outage (no new login needed).
    status = (await browser.get("dbx-auth/api/connections")).json()
    ws = next(c for c in status["connections"] if c["name"] == "ws")
    assert ws["status"] == "ok", ws
    assert dbx_app.service.store.get("u2m", "ws") is not None
