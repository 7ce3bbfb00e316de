"""`http://localhost:8020`, the public `databricks-cli` app's redirect, handed on to our callback.

Databricks registers exactly one redirect for its public app, `http://localhost:8020`, and refuses
any other. When the browser runs on the machine that runs Jupyter, the server listens on that
address while a sign-in is pending and sends the browser on to its own `{base_url}dbx-auth/callback`
with the query string intact, so the Jupyter cookie, the user binding, the state and PKCE checks
all happen in the one callback handler. Nothing is decided here: a request whose `state` is not
waiting gets a page that says so, and the target URL comes from the sign-in, never the request.

- Listens on both loopback addresses (browsers may resolve `localhost` to `::1` first) and on
  nothing else; opens with the first pending sign-in and closes with the last.
- A busy port (a `databricks auth login` waiting, another Jupyter) is reported, not fatal: the
  person can still paste the address the browser ends on.
- Its access log never holds the query string (it carries the authorization code).
"""

from __future__ import annotations

import asyncio
import errno
import html
import logging
import socket
import time
from urllib.parse import parse_qs, urlsplit

from tornado import httpserver, netutil, web

log = logging.getLogger(__name__)

PUBLIC_APP_REDIRECT = "http://localhost:8020"
PORT = 8020
LOOPBACK = (("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6))


class _Handoff(web.RequestHandler):
    def initialize(self, owner: LocalhostHandoff) -> None:
        self.owner = owner

    def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Content-Security-Policy", "default-src 'none'")
        if self.request.path != "/":
            self._page(404, "Nothing is served at this address.")
            return
        states = parse_qs(self.request.query).get("state", [])
        target = self.owner.target_for(states[0]) if len(states) == 1 else None
        if target is None:
            self._page(
                400,
                "No Jupyter sign-in on this machine is waiting for this address (it finished, "
                "expired or was started elsewhere). If you started the sign-in from a Jupyter "
                "server on another machine, copy this page's address from the address bar and "
                "paste it into that Jupyter's Databricks panel.",
            )
            return
        self.redirect(f"{target}?{self.request.query}")

    def _page(self, status: int, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            "<!doctype html><meta charset=utf-8><title>Databricks sign-in</title>"
            f"<p>{html.escape(message)}</p>"
        )


def _quiet_log(handler: web.RequestHandler) -> None:
    # The path only: the query holds the authorization code and state.
    log.debug(
        "handoff %s %s %s", handler.get_status(), handler.request.method, handler.request.path
    )


class LocalhostHandoff:
    """Owns localhost:8020 while sign-ins with the public app are pending."""

    def __init__(self, port: int = PORT) -> None:
        self.port = port
        self._targets: dict[str, tuple[str, float]] = {}
        self._server: httpserver.HTTPServer | None = None
        self._lock = asyncio.Lock()

    @property
    def listening(self) -> bool:
        return self._server is not None

    def target_for(self, state: str) -> str | None:
        entry = self._targets.get(state)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    async def expect(self, state: str, callback_url: str, ttl: float) -> bool:
        """Send the browser arriving with `state` on to `callback_url` for `ttl` seconds.

        True when the hand-off is listening; False when the port is taken by another program
        (the caller offers the paste path instead). Never raises for a busy port.
        """
        async with self._lock:
            self._prune()
            self._targets[state] = (callback_url, time.monotonic() + ttl)
            if self._server is None:
                self._server = self._listen()
            return self._server is not None

    async def forget(self, state: str) -> None:
        """The sign-in with `state` finished, failed or was cancelled."""
        async with self._lock:
            self._targets.pop(state, None)
            self._prune()
            if not self._targets:
                self._close()

    async def aclose(self) -> None:
        async with self._lock:
            self._targets.clear()
            self._close()

    def _prune(self) -> None:
        now = time.monotonic()
        for state in [s for s, (_, deadline) in self._targets.items() if deadline < now]:
            del self._targets[state]

    def _listen(self) -> httpserver.HTTPServer | None:
        sockets: list[socket.socket] = []
        for address, family in LOOPBACK:
            try:
                sockets += netutil.bind_sockets(self.port, address, family=family)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    for sock in sockets:
                        sock.close()
                    log.warning(
                        "Port %s on %s is in use by another program (a `databricks auth login` "
                        "or another Jupyter?): the sign-in must be finished by pasting the "
                        "address the browser ends on.",
                        self.port,
                        address,
                    )
                    return None
                # No IPv6 (or IPv4) loopback on this machine: the other family still serves.
                log.debug("Loopback %s unavailable for the hand-off: %s", address, exc)
        if not sockets:
            return None
        app = web.Application([(r"/.*", _Handoff, {"owner": self})], log_function=_quiet_log)
        server = httpserver.HTTPServer(app, xheaders=False)
        server.add_sockets(sockets)
        log.info("Listening on localhost:%s for a pending Databricks sign-in", self.port)
        return server

    def _close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
            log.info("Closed localhost:%s (no sign-in pending)", self.port)


def is_public_app_redirect(redirect_uri: str) -> bool:
    """True for the public app's one registered redirect (with or without a trailing slash)."""
    parts = urlsplit(redirect_uri)
    return (parts.scheme, parts.hostname, parts.port, parts.path or "/") == (
        "http",
        "localhost",
        PORT,
        "/",
    )
