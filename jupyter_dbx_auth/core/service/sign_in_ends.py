"""Sign-ins that end without a code: declined at the IdP, cancelled, timed out, or a notebook
still waiting.

Part of `AuthService` (a mixin, so that `service.py` keeps one screenful per concern): the
login-state table (`pending.py`) says whether a sign-in of a connection is in progress, the broker
puts back the status the connection had before it (with a `Reason`), so the sidebar never stays on
"waiting for the sign-in" for a sign-in that will not come back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..connections import AuthMethod, Connection
from ..errors import DbxAuthError
from ..status import Reason, State

if TYPE_CHECKING:
    from ..broker import TokenBroker
    from ..oauth.authorize import PendingLogin
    from ..status import Status
    from .connections import Connections
    from .endings import SignInEndings
    from .pending import PendingLogins

#: An IdP error code as shown to a person; anything else is not echoed.
_ERROR_CODE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def decline_reason(error: str) -> tuple[Reason, str]:
    """What an IdP's `error=` on the callback means for the connection's status."""
    if error == "access_denied":
        return Reason.DECLINED, "You declined the sign-in at Databricks."
    code = error if _ERROR_CODE.fullmatch(error) else "unknown error"
    return Reason.CANCELLED, f"Databricks refused the sign-in ({code})."


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} seconds"


class SignInEnds:
    """`AuthService`'s methods for sign-ins that end without a code."""

    broker: TokenBroker
    connections: Connections
    pending: PendingLogins[PendingLogin]
    endings: SignInEndings

    if TYPE_CHECKING:  # provided by AuthService

        def _audit(self, event: str, connection: str | None, **fields: Any) -> None: ...

        def status_dict(self, conn: Connection, status: Status | None = None) -> dict[str, Any]: ...

        def _on_status(self, name: str, status: Status) -> None: ...

    def on_login_end(self, listener: Callable[[str], None]) -> None:
        """`listener(state)` when a sign-in completes, fails or is declined."""
        self.endings.subscribe(listener)

    def note_sign_in(self, name: str, state: str, how: dict[str, Any]) -> None:
        """How the pending sign-in `state` of `name` ends (`sign_in` in its status)."""
        self.endings.note(name, state, how)
        conn = self.connections.find(name)
        if conn is not None:
            self._on_status(name, self.broker.status(conn))

    async def decline_login(self, *, user: str | None, state: str | None, error: str) -> None:
        """The IdP sent the browser back with `error` instead of a code (e.g. the user pressed
        Deny): burn the state so it cannot complete later, and say so on the connection at once.
        A state that is not this user's (or already over) changes nothing. `user` None: a
        kernel of this server, pasting for the person (`PendingLogins.take`)."""
        self.endings.ended(state)  # nothing waits for this sign-in any more (localhost:8020)
        try:
            entry = self.pending.take(user, state)
        except DbxAuthError:
            return
        conn = self.connections.find(entry.connection)
        if conn is None:
            return
        reason, message = decline_reason(error)
        await self.broker.abandon_login(conn, reason, message, pending=True)
        self._audit("failure", conn.name, outcome=reason.value, user=user, step="authorize")

    async def expire_login(self, state: str) -> None:
        """`state`'s time is up (`SignInTimeouts`): unless it ended, or another sign-in of its
        connection is still under way, the connection goes back to what it showed before, saying
        why. The state stays in the table, so its late callback reads "expired", not "unknown"."""
        entry = self.pending.peek(state)
        if entry is None or self.pending.in_progress(entry.connection):
            return
        self.endings.ended(state)  # the localhost:8020 handoff stops waiting for it
        conn = self.connections.find(entry.connection)
        if conn is None:
            return
        if (await self.broker.load_status(conn)).state is not State.LOGIN_PENDING:
            return  # signed in another way meanwhile (e.g. the CLI's sign-in): nothing to undo
        message = f"The sign-in was not finished within {_duration(self.pending.ttl)}."
        await self.broker.abandon_login(conn, Reason.CANCELLED, message, pending=True)
        self._audit("login", conn.name, outcome="timed_out", user=entry.user)

    async def cancel_login_of(self, conn: Connection, *, user: str) -> dict[str, Any]:
        """Give up the pending sign-in of `conn` (Cancel, or its window was closed): its states
        stop working and the connection shows what it showed before the sign-in started."""
        hub = getattr(self, "hub", None)
        if hub is not None and hub.serves(conn):
            return self.status_dict(conn, hub.cancel(conn))  # stop polling the hub for it
        dropped = self.pending.drop_connection(conn.name)
        self.endings.ended_connection(conn.name)
        status = await self.broker.abandon_login(conn, Reason.CANCELLED, pending=dropped > 0)
        if status.reason is Reason.CANCELLED:
            self._audit("login", conn.name, outcome="cancelled", user=user)
        return self.status_dict(conn, status)

    async def note_kernel_waiting(self, conn: Connection) -> None:
        """A kernel asked for a sign-in link and waits: the sidebar says "waiting for sign-in"."""
        hub = getattr(self, "hub", None)
        if hub is not None and hub.serves(conn):
            await hub.wait_for_sign_in(conn)  # the sign-in happens at the hub: poll it
        elif conn.method is AuthMethod.USER:
            await self.broker.note_waiting(conn)
