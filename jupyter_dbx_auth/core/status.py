"""Per-connection status, as the sidebar, widgets and `%dbx_connect` show it.

A small value type with a JSON form; the broker owns the transitions and tells subscribers.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class State(str, enum.Enum):
    LOGGED_OUT = "logged_out"  # nothing held: sign in (U2M) or store a secret (M2M)
    LOGIN_PENDING = "login_pending"  # authorize URL handed out, waiting for the callback
    OK = "ok"  # a token is held or can be obtained without the user
    REFRESHING = "refreshing"  # a token request is in flight
    LOGIN_REQUIRED = "login_required"  # the refresh token is dead: the user must sign in again
    ERROR = "error"  # see `message`


@dataclass(frozen=True)
class Status:
    state: State
    message: str | None = None  # built from names and IdP error codes only, never a token
    hint: str | None = None  # what to do next
    warnings: tuple[str, ...] = ()  # e.g. a service principal secret expiring soon

    def to_dict(self) -> dict[str, object]:
        return {
            "state": self.state.value,
            "message": self.message,
            "hint": self.hint,
            "warnings": list(self.warnings),
        }


#: Called with (connection name, new status) after every change.
StatusCallback = Callable[[str, Status], None]
