"""The kernel's access token cache: the one object every client's header factory reads.

A kernel holds short-lived access tokens only. `TokenCache` keeps the current one and the
`Authorization` header built from it, and asks its token source (the Jupyter server's kernel API,
or the in-process broker when there is no server) for a new one shortly before expiry.

Hot path (`headers()`): one attribute read, one clock call, one comparison, no lock. Slow path:
one thread fetches while the others wait for its result (single-flight); a failed refresh while
the current token is still valid keeps the current token and tries again a second later, because
a short outage of the server must not break a running notebook that still holds a good token.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.secret import Secret

log = logging.getLogger(__name__)

#: Seconds before expiry at which a new token is asked for. Shorter than the server's own margin
#: (5 minutes, capped at half the token's life) so that the server has refreshed by then, and long
#: enough that databricks-sql-connector, which keeps a token until one minute before its JWT
#: expiry, asks us again while ours is already the new one.
DEFAULT_MARGIN = 90.0
#: Never ask again sooner than this after a fetch (a server returning a nearly expired token
#: must not turn every request into a fetch).
MIN_INTERVAL = 1.0


@dataclass(frozen=True, repr=False)
class KernelToken:
    """An access token as a kernel holds it. `repr()` shows the expiry, never the token."""

    access_token: Secret
    expires_at: float | None  # epoch seconds; None: does not expire (PAT)
    token_type: str = "Bearer"  # noqa: S105 - a token type, not a token
    host: str = ""
    account: bool = False
    account_id: str | None = None

    @classmethod
    def from_reply(cls, body: Mapping[str, Any]) -> KernelToken | None:
        """From the token API's answer (`core.wire.token_reply`); None without a token."""
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            return None
        expires = body.get("expires_at")
        return cls(
            access_token=Secret(access),
            expires_at=float(expires) if isinstance(expires, (int, float)) else None,
            token_type=str(body.get("token_type") or "Bearer"),
            host=str(body.get("host") or ""),
            account=bool(body.get("account")),
            account_id=body.get("account_id") or None,
        )

    def authorization(self) -> str:
        return f"{self.token_type} {self.access_token.reveal()}"

    def __repr__(self) -> str:
        return f"KernelToken(host={self.host!r}, expires_at={self.expires_at!r})"


#: `fetch(force)` returns a token; `force=True` asks for a new one even if the source has a
#: cached token (e.g. after Databricks refused the current one).
#: Fetches a token; its argument is the token Databricks refused (None: any fresh token).
Fetch = Callable[["KernelToken | None"], KernelToken]


class TokenCache:
    """Cached token + header for one connection; thread-safe, single-flight refresh."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        margin: float = DEFAULT_MARGIN,
        clock: Callable[[], float] = time.time,
        label: str = "",
    ) -> None:
        self._fetch = fetch
        self.margin = margin
        self._clock = clock
        self.label = label
        self._lock = threading.Lock()
        # (refresh_at, header value, token): replaced as a whole so readers need no lock.
        self._state: tuple[float, str, KernelToken] | None = None
        _caches.add(self)

    def __repr__(self) -> str:
        state = self._state
        expires = state[2].expires_at if state else None
        return f"<TokenCache {self.label!r} expires_at={expires!r}>"

    # -- hot path ---------------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        """`{"Authorization": "Bearer ..."}` with a token valid for a while yet."""
        state = self._state
        if state is not None and self._clock() < state[0]:
            return {"Authorization": state[1]}
        return {"Authorization": self._refresh(state, force=False)[1]}

    def token(self) -> KernelToken:
        state = self._state
        if state is not None and self._clock() < state[0]:
            return state[2]
        return self._refresh(state, force=False)[2]

    def peek(self) -> KernelToken | None:
        """The current token without any fetch (status lines, countdowns)."""
        state = self._state
        return state[2] if state else None

    # -- slow path --------------------------------------------------------------------------

    def refresh(self, *, force: bool = True) -> KernelToken:
        """A new token now (force: even if the source still caches the current one)."""
        return self._refresh(self._state, force=force)[2]

    def _refresh(
        self, seen: tuple[float, str, KernelToken] | None, *, force: bool
    ) -> tuple[float, str, KernelToken]:
        with self._lock:
            current = self._state
            if current is not seen and current is not None and self._clock() < current[0]:
                return current  # another thread refreshed while we waited for the lock
            try:
                token = self._fetch(current[2] if force and current is not None else None)
            except Exception as exc:
                now = self._clock()
                if current is not None and _valid_for(current[2], now) > 5.0:
                    log.warning(
                        "Refreshing the token of %s failed (%s); using the current one for now",
                        self.label or "a connection",
                        type(exc).__name__,
                    )
                    self._state = (now + MIN_INTERVAL, current[1], current[2])
                    return self._state
                raise
            self._state = (self._refresh_at(token), token.authorization(), token)
            return self._state

    def _refresh_at(self, token: KernelToken) -> float:
        now = self._clock()
        if token.expires_at is None:
            return float("inf")
        remaining = token.expires_at - now
        # A quarter of what is left, at most `margin`: a 5-second token is used for ~4 s.
        at = token.expires_at - min(self.margin, max(0.0, remaining) / 4)
        return max(at, min(now + MIN_INTERVAL, token.expires_at))


def _valid_for(token: KernelToken, now: float) -> float:
    return float("inf") if token.expires_at is None else token.expires_at - now


#: Every live cache of this kernel, for `token_rejected`.
_caches: weakref.WeakSet[TokenCache] = weakref.WeakSet()


def token_rejected(connection: str) -> int:
    """Databricks refused (HTTP 401) the current token of `connection`: get new ones.

    Each of this kernel's clients of that connection reports its current token (a fingerprint of
    it only) and takes a new one. The Jupyter server (or the in-process service) refreshes once
    however many kernels report the same token, and refuses (429) to force another refresh of
    that connection within 30 s, because a token refused right after a refresh will not be saved
    by another one. Returns how many clients got a new token.
    """
    renewed = 0
    for cache in list(_caches):
        if cache.label == connection and cache.peek() is not None:
            cache.refresh(force=True)
            renewed += 1
    return renewed
