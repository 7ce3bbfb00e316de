"""How a sign-in started on this server will end, and the localhost:8020 hand-off that serves it.

The one adapter between `AuthService` (tornado-free) and `LocalhostHandoff` (a tornado listener):
- a custom app with this server's callback registered: the browser comes back to the callback
  (`"finish": "callback"`);
- the public `databricks-cli` app (`redirect_uri=http://localhost:8020`) and a browser that reached
  Jupyter by a loopback name: the browser is on this machine, so we listen on localhost:8020 and
  hand it on to the callback on the Host it used (so its Jupyter cookie goes along):
  `"finish": "handoff"`;
- the public app and a browser elsewhere (remote server, Docker, Binder), or 8020 taken by another
  program: the person pastes the address the browser ends on (`"finish": "paste"`).
The listener stops waiting for a sign-in when the service says it ended, or when it expires.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..core.service import CALLBACK_PATH, PUBLIC_APP_REDIRECT, AuthService, host_is_loopback
from .localhost_handoff import LocalhostHandoff, is_public_app_redirect

PASTE_PREFIX = f"{PUBLIC_APP_REDIRECT}/?"
PASTE_MESSAGE = (
    "When the sign-in ends on a page that does not open (an address starting with "
    f"{PASTE_PREFIX}), copy that whole address from the browser's address bar and paste it here."
)
BUSY_MESSAGE = (
    "Port 8020 is in use (a `databricks auth login` waiting, or another Jupyter): finish by "
    "pasting the address. " + PASTE_MESSAGE
)


class SignInFinish:
    """Plans each sign-in's ending; owns the hand-off listener (closed with the extension)."""

    def __init__(self, service: AuthService, handoff: LocalhostHandoff | None = None) -> None:
        self.handoff = handoff or LocalhostHandoff()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.service = service
        service.on_login_end(self._ended)

    async def plan(
        self,
        *,
        connection: str,
        authorize_url: str | None,
        redirect_uri: str,
        host: str,
        protocol: str,
        base_url: str,
        ttl: float,
    ) -> dict[str, Any]:
        """The begin-login reply's `finish`, `paste_prefix` and `message`.

        `authorize_url` None: a kernel asked, which shows a sign-in link for whichever browser;
        it offers the paste box (a browser on this machine is handed on before it is needed)."""
        how = await self._plan(authorize_url, redirect_uri, host, protocol, base_url, ttl)
        state = _state_of(authorize_url)
        if state is not None:  # shown in the connection's status while the sign-in is pending
            self.service.note_sign_in(connection, state, how)
        return how

    async def _plan(
        self,
        authorize_url: str | None,
        redirect_uri: str,
        host: str,
        protocol: str,
        base_url: str,
        ttl: float,
    ) -> dict[str, Any]:
        if not is_public_app_redirect(redirect_uri):
            return {"finish": "callback", "paste_prefix": None, "message": None}
        paste = {"finish": "paste", "paste_prefix": PASTE_PREFIX, "message": PASTE_MESSAGE}
        state = _state_of(authorize_url)
        if state is None or not host_is_loopback(host):
            return paste
        callback = f"{protocol}://{host}{base_url}{CALLBACK_PATH}"
        if not await self.handoff.expect(state, callback, ttl):
            return {**paste, "message": BUSY_MESSAGE}
        loop = asyncio.get_running_loop()
        self._timers[state] = loop.call_later(ttl, self._ended, state)
        return {"finish": "handoff", "paste_prefix": PASTE_PREFIX, "message": None}

    def _ended(self, state: str) -> None:
        timer = self._timers.pop(state, None)
        if timer is None:
            return  # not one we listen for
        timer.cancel()
        task = asyncio.get_running_loop().create_task(self.handoff.forget(state))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        await self.handoff.aclose()


def _state_of(authorize_url: str | None) -> str | None:
    if not authorize_url:
        return None
    states = parse_qs(urlsplit(authorize_url).query).get("state", [])
    return states[0] if len(states) == 1 else None
