"""The picker's state and actions, without ipywidgets (so they are unit-testable anywhere).

State holds names, labels, client ids, statuses, identities and expiry times: never a token or a
secret. The one secret that passes through (a service principal secret typed into the form) goes
straight from the Password widget to the backend in `add_service_principal` and is not kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import DbxAuthError
from ..core.secret import Secret
from .backends import Backend, ConnectionInfo
from .connect import Connected, ConnectOptions, LoginUI, connect
from .status import STATUS_WORDS, validity

USER = "user"
SP = "sp"


@dataclass
class PickerState:
    connections: list[ConnectionInfo] = field(default_factory=list)
    selected: str | None = None
    mode: str = USER  # USER | SP
    service_principals: list[dict[str, Any]] = field(default_factory=list)
    sp: str | None = None  # client id
    message: str = ""  # last action's outcome, for the status line
    error: bool = False
    connected: Connected | None = None

    def current(self) -> ConnectionInfo | None:
        return next((c for c in self.connections if c.name == self.selected), None)


class PickerModel:
    """What the picker does; the view binds widgets to it and re-renders on `on_change`."""

    def __init__(
        self,
        backend: Backend,
        *,
        inject: Callable[[str, Any], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.inject = inject or (lambda name, value: None)
        self.clock = clock
        self.state = PickerState()
        self.on_change: Callable[[], None] = lambda: None

    # -- loading ----------------------------------------------------------------------------

    def reload(self, preferred: str | None = None) -> None:
        self.state.connections = [c for c in self.backend.connections() if c.method != "?"]
        names = [c.name for c in self.state.connections]
        wanted = preferred or self.state.selected
        self.state.selected = wanted if wanted in names else (names[0] if names else None)
        self._load_sps()
        self.on_change()

    def _load_sps(self) -> None:
        current = self.state.current()
        if current is None:
            self.state.service_principals, self.state.sp = [], None
            return
        try:
            sps = self.backend.service_principals(current.name)
        except DbxAuthError:
            sps = []
        self.state.service_principals = sps
        ids = [str(sp.get("client_id")) for sp in sps]
        if current.method == "m2m" and current.client_id and current.client_id not in ids:
            ids.insert(0, current.client_id)  # the connection's own service principal
        if current.method == "m2m" and current.client_id:
            # A service-principal connection defaults to its own principal, not a stored one.
            self.state.sp = current.client_id
        elif self.state.sp not in ids:
            self.state.sp = ids[0] if ids else None
        if current.method == "m2m":
            self.state.mode = SP
        elif current.method == "u2m" and not sps:
            self.state.mode = USER

    def sp_options(self) -> list[tuple[str, str]]:
        """(label, client id) pairs for the dropdown."""
        out = [
            (f"{sp.get('label') or sp.get('client_id')}", str(sp.get("client_id")))
            for sp in self.state.service_principals
        ]
        current = self.state.current()
        if current and current.method == "m2m" and current.client_id:
            if current.client_id not in [cid for _, cid in out]:
                out.insert(0, (f"{current.client_id} (connection)", current.client_id))
        return out

    # -- user actions -----------------------------------------------------------------------

    def select(self, name: str | None) -> None:
        if name == self.state.selected:
            return
        self.state.selected = name
        self.state.sp = None
        self._load_sps()
        self.on_change()

    def set_mode(self, mode: str) -> None:
        self.state.mode = SP if mode == SP else USER
        self.on_change()

    def set_sp(self, client_id: str | None) -> None:
        self.state.sp = client_id
        self.on_change()

    def add_service_principal(
        self, client_id: str, secret: str, *, expires: str = "", label: str = ""
    ) -> bool:
        """Save through the backend (which tests it once). True on success."""
        current = self.state.current()
        client_id = client_id.strip()
        if current is None or not client_id or not secret:
            return self._say("Choose a connection and fill in client id and secret.", error=True)
        wrapped = Secret(secret)
        del secret  # only the Secret wrapper from here on
        try:
            self.backend.add_service_principal(
                current.name,
                client_id,
                wrapped,
                expires_at=expires.strip() or None,
                label=label.strip(),
            )
        except DbxAuthError as exc:
            return self._say(f"Not saved: {exc.message} {exc.hint}".strip(), error=True)
        self.state.sp = client_id
        self.state.mode = SP
        self._load_sps()
        return self._say(f"Saved service principal {label.strip() or client_id}.")

    def connect(
        self, var: str | None = None, ui: LoginUI | None = None, *, env: bool = False
    ) -> Connected | None:
        """Connect the selected connection; `env` also exports it to the kernel's environment
        (`%dbx_connect --env`)."""
        current = self.state.current()
        if current is None:
            self._say("No connection to connect to.", error=True)
            return None
        use_sp = self.state.mode == SP and self.state.sp
        options = ConnectOptions(
            name=current.name, sp=self.state.sp if use_sp else None, var=var, env=env
        )
        try:
            result = connect(options, backend=self.backend, ui=ui)
        except DbxAuthError as exc:
            self._say(f"{exc.message} {exc.hint}".strip(), error=True)
            return None
        self.inject(result.var, result.client)
        self.state.connected = result
        self._say(result.summary(self.clock()))
        return result

    def status_line(self) -> str:
        """The selected connection's status; after Connect on it, the variable, identity and
        token validity (the format of the sidebar and `%dbx_status`)."""
        current = self.state.current()
        if current is None:
            return "No Databricks connections configured."
        done = self.state.connected
        use_sp = self.state.sp if self.state.mode == SP else None
        if done is None or done.info.name != current.name or done.sp != use_sp:
            words = STATUS_WORDS.get(current.status, current.status)
            if current.method != "u2m" and current.status in ("ok", "logged_out"):
                words = "ready" if current.status == "ok" else "no secret stored"
            who = f" as {current.identity}" if current.identity and current.status == "ok" else ""
            when = validity(current.expires_at, self.clock()) if current.status == "ok" else ""
            return f"{current.name}: {words}{who}" + (f" · token {when}" if when else "") + "."
        token = done.cache.peek()
        when = validity(token.expires_at, self.clock()) if token is not None else ""
        who = done.identity or (f"service principal {done.sp}" if done.sp else "")
        line = f"{done.var}: {done.info.name} as {who}"
        return line + (f" · token {when}, refreshed automatically" if when else "")

    def apply_event(self, event: dict[str, Any]) -> None:
        """A status event from the server's event stream: update that connection's row."""
        name = event.get("name")
        for i, conn in enumerate(self.state.connections):
            if conn.name == name:
                from .backends import _info

                self.state.connections[i] = _info({**conn.__dict__, **event})
                self.on_change()
                return

    def _say(self, message: str, *, error: bool = False) -> bool:
        self.state.message, self.state.error = message, error
        self.on_change()
        return not error
