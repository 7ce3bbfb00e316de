"""Sign-ins in progress: the one login-state table.

A sign-in started here is kept until its callback (or a pasted address, or a hand-off from
localhost:8020) comes back with the same `state`. The entry holds what the OAuth side needs (the
PKCE verifier, in `PendingLogin`) and what only the front end knows: which user started it, from
which client, and where to send the browser afterwards. A state is accepted once, from the same
user, within one TTL (`login_ttl`, honoured as configured). Entries are keyed by a hash of the
state so that a dictionary lookup leaks nothing useful through timing.

Bounds (security finding 3): a user who starts many sign-ins only pushes out their own oldest; a
client (remote address) and the whole table have hard bounds that answer `TooManyLogins` (429),
because on a token-less server every request without a cookie is a new anonymous user and the
per-user bound alone would let one client fill the table.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ..errors import BadRequest, TooManyRequests

P = TypeVar("P")

#: Default seconds a sign-in may stay open: a password and MFA fit, a leaked callback URL soon dies.
LOGIN_TTL = 600.0
#: Default bounds: sign-ins in progress per user (oldest dropped), per client and in all (429).
PER_USER = 8
PER_CLIENT = 32
TOTAL = 1_000

RESTART_HINT = "Start the sign-in again from JupyterLab."


class StateRejected(BadRequest):
    """A callback's state is unknown, used, expired or belongs to someone else."""

    default_hint = RESTART_HINT

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason  # "missing" | "unknown" | "expired" | "other_user"


class TooManyLogins(TooManyRequests):
    """A client or the whole server has too many sign-ins in progress."""


@dataclass
class Entry(Generic[P]):
    user: str
    connection: str
    pending: P = field(repr=False)
    next_url: str | None
    created: float
    client: str = ""


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8", "surrogatepass")).hexdigest()


class PendingLogins(Generic[P]):
    def __init__(
        self,
        *,
        ttl: float = LOGIN_TTL,
        per_user: int = PER_USER,
        per_client: int = PER_CLIENT,
        total: int = TOTAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.per_user = per_user
        self.per_client = per_client
        self.total = total
        self._clock = clock
        self._entries: dict[str, Entry[P]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _purge(self, now: float) -> None:
        for key in [k for k, e in self._entries.items() if now - e.created > self.ttl]:
            del self._entries[key]

    def add(
        self,
        user: str,
        connection: str,
        state: str,
        pending: P,
        next_url: str | None = None,
        *,
        client: str = "",
    ) -> None:
        now = self._clock()
        self._purge(now)
        mine = sorted((e.created, k) for k, e in self._entries.items() if e.user == user)
        # A user who starts many logins only pushes out their own oldest ones.
        while len(mine) >= self.per_user:
            _, oldest = mine.pop(0)
            del self._entries[oldest]
        wait = f"Wait until one finishes or expires (at most {self.ttl:.0f} s), then start again."
        if client and sum(e.client == client for e in self._entries.values()) >= self.per_client:
            raise TooManyLogins(
                f"Too many sign-ins are in progress from this client ({self.per_client}).",
                hint=wait,
                retry_after=self.ttl,
            )
        if len(self._entries) >= self.total:
            raise TooManyLogins(
                f"Too many sign-ins are in progress on this server ({self.total}).",
                hint=wait,
                retry_after=self.ttl,
            )
        self._entries[_digest(state)] = Entry(user, connection, pending, next_url, now, client)

    def peek(self, state: str) -> Entry[P] | None:
        """The entry for `state`, left in place and unchecked (to learn its redirect URI)."""
        return self._entries.get(_digest(state))

    def take(self, user: str | None, state: str | None) -> Entry[P]:
        """The entry for `state`, removed: whatever the outcome, a state works once.

        `user` None: the caller is a kernel of this server (kernel key), which pastes for the
        person at the notebook whichever Jupyter user opened the sign-in page; it can already get
        every connection's access tokens, so the binding protects nothing more from it."""
        if not state:
            raise StateRejected("The sign-in response carries no state.", "missing")
        entry = self._entries.pop(_digest(state), None)
        if entry is None:
            raise StateRejected("This sign-in response is unknown or was already used.", "unknown")
        if self._clock() - entry.created > self.ttl:
            raise StateRejected("This sign-in took too long and expired.", "expired")
        if user is not None and entry.user != user:
            raise StateRejected("This sign-in was started by another Jupyter user.", "other_user")
        return entry

    def in_progress(self, connection: str | None = None) -> bool:
        """Whether a sign-in of `connection` (None: of any) is held and still within its TTL."""
        now = self._clock()
        return any(
            connection in (None, e.connection) and now - e.created <= self.ttl
            for e in self._entries.values()
        )

    def drop_connection(self, connection: str) -> int:
        """Forget every sign-in of `connection` in progress; how many there were."""
        keys = [k for k, e in self._entries.items() if e.connection == connection]
        for key in keys:
            del self._entries[key]
        return len(keys)
