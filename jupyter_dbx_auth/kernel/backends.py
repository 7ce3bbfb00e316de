"""Where a kernel's tokens come from: the Jupyter server (kernel API) or the in-process broker.

Both sides look the same to the magics and widgets: a list of `ConnectionInfo` (public fields
only), a token `Fetch` per connection (optionally as one of its service principals), service
principal management, login and logout. `current_backend()` picks the server when the kernel was
started by one (its environment holds the kernel key), else the in-process broker.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from ..core.errors import ConfigError, DbxAuthError
from ..core.secret import Secret
from .tokens import Fetch, KernelToken


@dataclass(frozen=True)
class ConnectionInfo:
    """What a notebook may show about a connection: never a token or a secret."""

    name: str
    host: str
    method: str  # u2m | m2m | wif | pat
    account: bool = False
    account_id: str | None = None
    client_id: str | None = None
    status: str = "unknown"
    identity: str | None = None
    expires_at: float | None = None
    warnings: tuple[str, ...] = ()
    message: str | None = None


class Backend(Protocol):
    kind: str  # "server" | "in-process"

    def connections(self) -> list[ConnectionInfo]: ...
    def info(self, name: str | None, *, host: str | None = None) -> ConnectionInfo: ...
    def fetcher(self, info: ConnectionInfo, *, client_id: str | None = None) -> Fetch: ...
    def account_info(self, info: ConnectionInfo) -> ConnectionInfo: ...
    def service_principals(self, name: str) -> list[dict[str, Any]]: ...
    def add_service_principal(
        self, name: str, client_id: str, secret: Secret, *, expires_at: Any, label: str
    ) -> None: ...
    def start_login(self, name: str) -> str: ...
    def logout(self, name: str) -> None: ...


class ServerBackend:
    """Tokens from the Jupyter server that started this kernel."""

    kind = "server"

    def __init__(self, client: Any) -> None:
        from .server_client import ServerClient

        self.client: ServerClient = client

    def connections(self) -> list[ConnectionInfo]:
        return [_info(item) for item in self.client.connections().get("connections", [])]

    def info(self, name: str | None, *, host: str | None = None) -> ConnectionInfo:
        known = self.connections()
        if host is not None:
            from ..core.hosts import normalize_host

            wanted = normalize_host(host)
            match = [c for c in known if c.host == wanted and (name is None or c.name == name)]
            if not match:
                raise ConfigError(
                    f"The Jupyter server has no connection for {wanted}.",
                    hint="Add one in c.DatabricksAuth.connections or ~/.databrickscfg on the "
                    "server, or pick one of: " + (", ".join(c.name for c in known) or "none"),
                )
            match.sort(key=lambda c: c.method != "u2m")  # a user login first, if there is one
            return match[0]
        if name is None:
            if len(known) == 1:
                return known[0]
            raise ConfigError(
                "Which connection? The Jupyter server has "
                + (f"{len(known)}: " + ", ".join(c.name for c in known) if known else "none")
                + ".",
                hint="Run %dbx_connect NAME (Tab completes names), or %dbx_status to see them.",
            )
        for conn in known:
            if conn.name == name:
                return conn
        raise ConfigError(
            f"The Jupyter server has no connection named {name!r}.",
            hint="Known: "
            + (", ".join(c.name for c in known) or "none")
            + ". Add it to c.DatabricksAuth.connections or ~/.databrickscfg.",
        )

    def fetcher(self, info: ConnectionInfo, *, client_id: str | None = None) -> Fetch:
        client, name = self.client, info.name

        def fetch(rejected: KernelToken | None) -> Any:
            return client.token(
                name, client_id=client_id, rejected=rejected.access_token if rejected else None
            )

        return fetch

    def account_info(self, info: ConnectionInfo) -> ConnectionInfo:
        if info.account:
            return info
        raise ConfigError(
            f"Connection {info.name} is a workspace connection; the Jupyter server gives "
            "kernels tokens for the connections it has, as they are configured.",
            hint="Add an account-level connection on the server (host of the account console, "
            "account_id, and account: true) and run %dbx_connect <that name>.",
        )

    def service_principals(self, name: str) -> list[dict[str, Any]]:
        return self.client.service_principals(name)

    def add_service_principal(
        self, name: str, client_id: str, secret: Secret, *, expires_at: Any, label: str
    ) -> None:
        self.client.add_service_principal(
            name, client_id, secret, expires_at=expires_at, label=label
        )

    def start_login(self, name: str) -> str:
        return self.client.start_login(name)

    def logout(self, name: str) -> None:
        self.client.logout(name)


class LocalBackend:
    """Tokens from the core engine inside this process (no Jupyter server)."""

    kind = "in-process"

    def __init__(self, broker: Any = None) -> None:
        from .inprocess import InProcessService

        self.broker: InProcessService = broker or InProcessService()

    def _public(self, conn: Any) -> ConnectionInfo:
        status = self.broker.status(conn)
        return ConnectionInfo(
            name=conn.name,
            host=conn.host,
            method=conn.method.value,
            account=conn.account,
            account_id=conn.account_id,
            client_id=conn.client_id,
            status="needs Jupyter server" if conn.method.value == "u2m" else status.state.value,
            expires_at=self.broker.expires_at(conn),
            warnings=status.warnings,
            message=status.message,
        )

    def connections(self) -> list[ConnectionInfo]:
        found, problems = self.broker.connections()
        out = [self._public(c) for c in found]
        for name, exc in problems.items():
            out.append(ConnectionInfo(name, "", "?", status="error", message=exc.message))
        return out

    def info(self, name: str | None, *, host: str | None = None) -> ConnectionInfo:
        return self._public(self.broker.resolve(name, host=host))

    def fetcher(self, info: ConnectionInfo, *, client_id: str | None = None) -> Fetch:
        broker = self.broker
        conn = broker.resolve(info.name)
        if client_id:
            conn = broker.sp_connection(conn, client_id)

        def fetch(rejected: KernelToken | None) -> Any:
            return broker.token(conn, rejected=rejected.access_token if rejected else None)

        return fetch

    def account_info(self, info: ConnectionInfo) -> ConnectionInfo:
        conn = self.broker.resolve(info.name)
        if conn.account:
            return info
        if not conn.account_id:
            raise ConfigError(
                f"Connection {conn.name} has no account id, which an AccountClient needs.",
                hint="Set account_id in the profile or DATABRICKS_ACCOUNT_ID.",
            )
        from ..core.hosts import HOST_KINDS, parse_host

        host = parse_host(conn.host)
        account_host = conn.host
        for kind in HOST_KINDS:  # the account console of the workspace's cloud
            if getattr(kind, "account", False) and kind.cloud == host.cloud:
                account_host = f"https://{kind.hostname}"  # type: ignore[attr-defined]
        acct = dataclasses.replace(
            conn, name=f"{conn.name}#account", host=account_host, account=True
        )
        self.broker.remember(acct)
        return self._public(acct)

    def service_principals(self, name: str) -> list[dict[str, Any]]:
        return self.broker.service_principals(self.broker.resolve(name))

    def add_service_principal(
        self, name: str, client_id: str, secret: Secret, *, expires_at: Any, label: str
    ) -> None:
        when = float(expires_at) if isinstance(expires_at, (int, float)) else None
        self.broker.add_service_principal(
            self.broker.resolve(name), client_id, secret, expires_at=when, label=label
        )

    def start_login(self, name: str) -> str:
        from .inprocess import U2MNeedsServer

        raise U2MNeedsServer(f"Signing in to {name} as a user needs the Jupyter server.")

    def logout(self, name: str) -> None:
        self.broker.logout(self.broker.resolve(name))


def _info(item: dict[str, Any]) -> ConnectionInfo:
    return ConnectionInfo(
        name=str(item.get("name")),
        host=str(item.get("host") or ""),
        method=str(item.get("method") or "?"),
        account=bool(item.get("account")),
        account_id=item.get("account_id") or None,
        client_id=item.get("client_id") or None,
        status=str(item.get("status") or "unknown"),
        identity=item.get("identity") or None,
        expires_at=item.get("expires_at"),
        warnings=tuple(item.get("warnings") or ()),
        message=item.get("message") or None,
    )


_lock = threading.Lock()
_current: Backend | None = None


def current_backend() -> Backend:
    """The server backend when this kernel has a kernel key, else the in-process one (cached)."""
    global _current
    with _lock:
        if _current is None:
            from .server_client import ServerClient

            client = ServerClient.from_env()
            _current = ServerBackend(client) if client is not None else LocalBackend()
        return _current


def set_backend(backend: Backend | None) -> None:
    """Replace (or with None, forget) the process's backend: tests and embedding applications."""
    global _current
    with _lock:
        old, _current = _current, backend
    if isinstance(old, LocalBackend) and old is not backend:
        old.broker.close()
    elif isinstance(old, ServerBackend) and old is not backend:
        old.client.close()


__all__ = [
    "Backend",
    "ConnectionInfo",
    "DbxAuthError",
    "LocalBackend",
    "ServerBackend",
    "current_backend",
    "set_backend",
]
