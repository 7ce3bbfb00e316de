"""Per-connection status, as the sidebar, widgets and `%dbx_connect` show it.

A small value type with a JSON form; the broker owns the transitions and tells subscribers.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


class State(str, enum.Enum):
    LOGGED_OUT = "logged_out"  # nothing held: sign in (U2M) or store a secret (M2M)
    LOGIN_PENDING = "login_pending"  # authorize URL handed out, waiting for the callback
    OK = "ok"  # a token is held or can be obtained without the user
    REFRESHING = "refreshing"  # a token request is in flight
    LOGIN_REQUIRED = "login_required"  # the refresh token is dead: the user must sign in again
    ERROR = "error"  # see `message`


class Reason(str, enum.Enum):
    """Why a connection is in its state, where the state alone would mislead a person."""

    NOT_SIGNED_IN = "not_signed_in"  # no sign-in held (never, or logged out): not "expired"
    EXPIRED = "expired"  # the IdP refused the refresh token: the sign-in really ended
    DECLINED = "declined"  # the user pressed Deny at the IdP's consent page
    CANCELLED = "cancelled"  # a pending sign-in was given up (Cancel, or its window closed)
    KERNEL_WAITING = "kernel_waiting"  # a notebook asked for this sign-in and is waiting


@dataclass(frozen=True)
class Status:
    state: State
    message: str | None = None  # built from names and IdP error codes only, never a token
    hint: str | None = None  # what to do next
    warnings: tuple[str, ...] = ()  # e.g. a service principal secret expiring soon
    reason: Reason | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "state": self.state.value,
            "reason": self.reason.value if self.reason else None,
            "message": self.message,
            "hint": self.hint,
            "warnings": list(self.warnings),
        }


#: Called with (connection name, new status) after every change.
StatusCallback = Callable[[str, Status], None]


class StatusBoard:
    """The latest status per connection name, and who to tell when one changes."""

    def __init__(self) -> None:
        self._status: dict[str, Status] = {}
        self._subscribers: list[StatusCallback] = []

    def get(self, name: str) -> Status | None:
        return self._status.get(name)

    def subscribe(self, callback: StatusCallback) -> Callable[[], None]:
        """Call `callback(name, status)` on every status change; returns an unsubscribe."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def set(self, name: str, status: Status) -> None:
        """Record `status`; subscribers hear it only when it differs from the last one."""
        if self._status.get(name) == status:
            return
        self._status[name] = status
        for callback in list(self._subscribers):
            try:
                callback(name, status)
            except Exception:  # one broken subscriber must not stop the others or the broker
                log.exception("A status subscriber failed for %s", name)
