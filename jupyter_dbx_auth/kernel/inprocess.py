"""No Jupyter server (plain IPython, a script, CI): the core engine runs inside the kernel.

M2M, workload identity federation, PATs and `.databrickscfg` profiles need no browser, so the core
`TokenBroker` serves them here with a `MemoryStore` (nothing is written to disk, nothing outlives
the process). A user login (U2M) needs somewhere for Databricks to redirect the browser to, and a
holder for the refresh token that is not the kernel: that is the Jupyter server's job, so U2M
says so and how to get one.

The broker is async; kernels call us synchronously from any thread (IPython's main thread has its
own running loop under ipykernel). So the broker lives on one private event loop in a daemon
thread, and each call is handed to it with `run_coroutine_threadsafe`.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

from ..core.broker import TokenBroker
from ..core.config import resolve_all, resolve_connection
from ..core.connections import AuthMethod, Connection
from ..core.errors import ConfigError, CredentialsMissing, DbxAuthError
from ..core.secret import Secret
from ..core.status import Status
from ..core.store.memory import MemoryStore
from .tokens import KernelToken

T = TypeVar("T")

U2M_NEEDS_SERVER_HINT = (
    "Open this notebook in JupyterLab or Notebook with the jupyter-dbx-auth server extension "
    "(`pip install jupyter-dbx-auth`, then start `jupyter lab`), where %dbx_connect opens the "
    "Databricks sign-in for you. Without a Jupyter server, use a service principal "
    "(DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET), workload identity or a profile with one."
)
SP_SECRET_HINT = (
    "Set DATABRICKS_CLIENT_SECRET (or client_secret in the profile), or run the notebook in "  # noqa: S105
    "Jupyter with the jupyter-dbx-auth server extension and add the secret with "
    "jupyter_dbx_auth.picker() or the Databricks sidebar."
)


class U2MNeedsServer(DbxAuthError):
    """A user login was asked for where no Jupyter server can receive the OAuth callback."""

    default_hint = U2M_NEEDS_SERVER_HINT


class InProcessBroker:
    """The core broker on a private event loop, for kernels without a Jupyter server."""

    def __init__(
        self,
        *,
        explicit: Mapping[str, Mapping[str, Any]] | None = None,
        env: Mapping[str, str] | None = None,
        config_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.explicit = dict(explicit or {})
        self._env = env
        self._config_file = config_file
        self.store = MemoryStore()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="jupyter-dbx-auth-broker", daemon=True
        )
        self._thread.start()
        self._broker: TokenBroker = self.run(self._make_broker())
        self._connections: dict[str, Connection] = {}

    def __repr__(self) -> str:
        return f"<InProcessBroker connections={sorted(self._connections)}>"

    async def _make_broker(self) -> TokenBroker:
        import httpx

        from ..core.oauth.engine import OAuthEngine

        # Created on the broker's loop: an AsyncClient belongs to the loop that uses it.
        self._http = httpx.AsyncClient(timeout=30.0)
        return TokenBroker(self.store, OAuthEngine(http=self._http))

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self.run(self._http.aclose(), timeout=5)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()

    # -- connections ------------------------------------------------------------------------

    @property
    def env(self) -> Mapping[str, str]:
        return os.environ if self._env is None else self._env

    def names(self) -> list[str]:
        resolved = resolve_all(self.explicit, env=self.env, config_file=self._config_file)
        return sorted({c.name for c in resolved.connections} | set(self._connections))

    def connections(self) -> tuple[list[Connection], dict[str, ConfigError]]:
        resolved = resolve_all(self.explicit, env=self.env, config_file=self._config_file)
        found = {c.name: c for c in resolved.connections}
        for name, conn in self._connections.items():
            found.setdefault(name, conn)
        return [found[n] for n in sorted(found)], dict(resolved.problems)

    def resolve(self, name: str | None = None, *, host: str | None = None) -> Connection:
        """A connection by name (explicit, profile), by host (with the environment's
        credentials), or the sdk's default (None)."""
        if host is not None:
            explicit = {"host": host}
            conn = resolve_connection(
                "_host", explicit={"_host": explicit}, env=self.env, config_file=None
            )
            conn = _renamed(conn, name or conn.host)
        elif name is not None and name in self._connections:
            return self._connections[name]
        else:
            conn = resolve_connection(
                name, explicit=self.explicit, env=self.env, config_file=self._config_file
            )
        self._connections[conn.name] = conn
        return conn

    def remember(self, conn: Connection) -> None:
        """Use `conn` under its name from now on (e.g. the account side of a connection)."""
        self._connections[conn.name] = conn

    # -- tokens and status ------------------------------------------------------------------

    def token(self, conn: Connection, *, force: bool = False) -> KernelToken:
        if conn.method is AuthMethod.USER:
            raise U2MNeedsServer(
                f"Connection {conn.name} signs in as a user (U2M), which needs the Jupyter "
                "server: the server receives the Databricks sign-in and keeps the refresh token "
                "out of the kernel."
            )
        try:
            tokens = self.run(self._broker.get_token(conn, force_refresh=force))
        except CredentialsMissing as exc:
            raise CredentialsMissing(exc.message, hint=SP_SECRET_HINT) from None
        return KernelToken(
            access_token=tokens.access_token,
            expires_at=tokens.expires_at,
            token_type=tokens.token_type,
            host=conn.host,
            account=conn.account,
            account_id=conn.account_id,
        )

    def status(self, conn: Connection) -> Status:
        return self._broker.status(conn)

    def expires_at(self, conn: Connection) -> float | None:
        cached = self._broker.cached_token(conn)
        return cached.expires_at if cached else None

    def add_service_principal(
        self,
        conn: Connection,
        client_id: str,
        client_secret: Secret,
        *,
        expires_at: float | None = None,
        label: str = "",
    ) -> None:
        """Keep a service principal's secret in this process's memory (checked first)."""
        target = conn
        if conn.method is not AuthMethod.SERVICE_PRINCIPAL or conn.client_id != client_id:
            target = _as_sp(conn, client_id)
        self.run(
            self._broker.add_service_principal(
                target, client_id, client_secret, expires_at=expires_at, label=label
            )
        )
        self._connections[target.name] = target

    def service_principals(self, conn: Connection) -> list[dict[str, Any]]:
        # Keys: "<name>/<client id>" (the connection's own SP) or "<name>#sp:<id>/<id>".
        prefixes = (f"{conn.name}/", f"{conn.name}#sp:")
        out = []
        for key, record in self.store.items("sp"):
            if key.startswith(prefixes):
                out.append(
                    {
                        "connection": conn.name,
                        "client_id": record.get("client_id"),
                        "label": record.get("label") or "",
                        "expires_at": record.get("expires_at"),
                        "has_secret": bool(record.get("client_secret")),
                    }
                )
        return out

    def sp_connection(self, conn: Connection, client_id: str) -> Connection:
        if conn.method is AuthMethod.SERVICE_PRINCIPAL and conn.client_id == client_id:
            return conn
        return self._connections.get(_as_sp(conn, client_id).name) or _as_sp(conn, client_id)

    def logout(self, conn: Connection) -> None:
        self.run(self._broker.logout(conn))


def _renamed(conn: Connection, name: str) -> Connection:
    import dataclasses

    return dataclasses.replace(conn, name=name)


def _as_sp(conn: Connection, client_id: str) -> Connection:
    import dataclasses

    # The same store key scheme as the server's `sp_connection`: a separate cache entry per SP.
    return dataclasses.replace(
        conn,
        name=conn.name if conn.client_id == client_id else f"{conn.name}#sp:{client_id}",
        method=AuthMethod.SERVICE_PRINCIPAL,
        client_id=client_id,
        client_secret=None,
        scopes=tuple(s for s in conn.scopes if s != "offline_access") or ("all-apis",),
    )
