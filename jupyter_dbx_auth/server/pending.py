"""Logins in flight, bound to the Jupyter user who started them.

The broker keeps the PKCE verifier with the state; this registry adds what only the server knows:
which Jupyter user started the login and where to send the browser afterwards. A callback is
accepted only from the same user, once, within the TTL. Entries are keyed by a hash of the state
so that a dictionary lookup leaks nothing useful through timing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

P = TypeVar("P")

#: Seconds a login may stay open: a password and MFA fit, a leaked callback URL soon dies.
LOGIN_TTL = 600.0


class StateRejected(Exception):
    """A callback's state is unknown, used, expired or belongs to someone else."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason  # "missing" | "unknown" | "expired" | "other_user"


class TooManyLogins(Exception):
    """The server-wide bound is reached (many users starting logins at once)."""


@dataclass
class Entry(Generic[P]):
    user: str
    connection: str
    pending: P = field(repr=False)
    next_url: str | None
    created: float


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8", "surrogatepass")).hexdigest()


class PendingLogins(Generic[P]):
    def __init__(
        self,
        *,
        ttl: float = LOGIN_TTL,
        per_user: int = 8,
        total: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.per_user = per_user
        self.total = total
        self._clock = clock
        self._entries: dict[str, Entry[P]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _purge(self, now: float) -> None:
        for key in [k for k, e in self._entries.items() if now - e.created > self.ttl]:
            del self._entries[key]

    def add(
        self, user: str, connection: str, state: str, pending: P, next_url: str | None = None
    ) -> None:
        now = self._clock()
        self._purge(now)
        mine = sorted((e.created, k) for k, e in self._entries.items() if e.user == user)
        # A user who starts many logins only pushes out their own oldest ones.
        while len(mine) >= self.per_user:
            _, oldest = mine.pop(0)
            del self._entries[oldest]
        if len(self._entries) >= self.total:
            raise TooManyLogins("Too many sign-ins are in progress on this server.")
        self._entries[_digest(state)] = Entry(user, connection, pending, next_url, now)

    def take(self, user: str, state: str | None) -> Entry[P]:
        """The entry for `state`, removed: whatever the outcome, a state works once."""
        if not state:
            raise StateRejected("The sign-in response carries no state.", "missing")
        entry = self._entries.pop(_digest(state), None)
        if entry is None:
            raise StateRejected("This sign-in response is unknown or was already used.", "unknown")
        if self._clock() - entry.created > self.ttl:
            raise StateRejected("This sign-in took too long and expired.", "expired")
        if entry.user != user:
            raise StateRejected("This sign-in was started by another Jupyter user.", "other_user")
        return entry

    def drop_connection(self, connection: str) -> None:
        for key in [k for k, e in self._entries.items() if e.connection == connection]:
            del self._entries[key]
