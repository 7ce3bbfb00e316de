"""A timer per started sign-in: when its time (`login_ttl`) is up and nothing ended it, the
connection must stop showing "waiting for the sign-in". Nothing else would say so: the window may
sit on a Databricks page nobody will finish, the sign-in may end by a pasted address that never
comes, or JupyterLab was reloaded and no longer watches the window."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

#: After the TTL: the state is refused from then on (`PendingLogins.take` compares with `>`).
GRACE = 1.0


class SignInTimeouts:
    """`on_timeout(state)` once, `ttl + GRACE` seconds after `watch(state)`."""

    def __init__(self, ttl: float, on_timeout: Callable[[str], Awaitable[None]]) -> None:
        self.ttl = ttl
        self._on_timeout = on_timeout
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._running: set[asyncio.Task[None]] = set()

    def watch(self, state: str) -> None:
        loop = asyncio.get_running_loop()
        self._timers[state] = loop.call_later(self.ttl + GRACE, self._fire, state)

    def __len__(self) -> int:
        return len(self._timers)

    def _fire(self, state: str) -> None:
        self._timers.pop(state, None)
        task = asyncio.ensure_future(self._run(state))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, state: str) -> None:
        try:
            await self._on_timeout(state)
        except Exception:  # a timer has no caller to tell: log, never lose the loop's callback
            log.exception("Ending a timed-out sign-in failed")

    def cancel(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in self._running:
            task.cancel()
