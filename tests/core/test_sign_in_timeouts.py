"""`SignInTimeouts`: one call per watched sign-in after its TTL, none after `cancel()` (server
shutdown), and a failing call logged, not lost in the loop. Through a server:
tests/server/test_sign_in_timeout.py."""

from __future__ import annotations

import asyncio
import logging

import pytest

from jupyter_dbx_auth.core.service import timeouts
from jupyter_dbx_auth.core.service.timeouts import SignInTimeouts


@pytest.fixture(autouse=True)
def short_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeouts, "GRACE", 0.05)


async def test_each_watched_sign_in_is_called_once_after_its_ttl() -> None:
    called: list[tuple[str, float]] = []
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def on_timeout(state: str) -> None:
        called.append((state, loop.time() - start))

    timers = SignInTimeouts(0.2, on_timeout)
    timers.watch("a")
    await asyncio.sleep(0.1)
    timers.watch("b")
    assert len(timers) == 2
    await asyncio.sleep(0.5)
    assert [state for state, _ in called] == ["a", "b"]
    assert called[0][1] >= 0.25  # TTL + grace
    assert len(timers) == 0


async def test_cancel_stops_every_timer() -> None:
    called: list[str] = []

    async def on_timeout(state: str) -> None:
        called.append(state)

    timers = SignInTimeouts(0.05, on_timeout)
    timers.watch("a")
    timers.cancel()
    await asyncio.sleep(0.3)
    assert called == []


async def test_a_failing_timeout_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)

    async def on_timeout(state: str) -> None:
        raise RuntimeError("the store is gone")

    timers = SignInTimeouts(0.01, on_timeout)
    timers.watch("a")
    await asyncio.sleep(0.3)
    assert [r.getMessage() for r in caplog.records] == ["Ending a timed-out sign-in failed"]


async def test_cancel_also_stops_a_timeout_being_handled() -> None:
    began = asyncio.Event()
    stopped: list[str] = []

    async def on_timeout(state: str) -> None:
        began.set()
        try:
            await asyncio.sleep(60)  # e.g. a store read that hangs
        except asyncio.CancelledError:
            stopped.append(state)
            raise

    timers = SignInTimeouts(0.01, on_timeout)
    timers.watch("a")
    await asyncio.wait_for(began.wait(), 5)
    timers.cancel()  # the server shutting down
    await asyncio.sleep(0.05)
    assert stopped == ["a"]
