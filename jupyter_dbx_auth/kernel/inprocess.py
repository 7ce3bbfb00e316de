"""No Jupyter server (plain IPython, a script, CI): the same `AuthService`, inside the kernel.

A thin sync facade: every method hands one call to `core.service.AuthService` and converts the
answer for the kernel; no policy, record scheme or status logic lives here. The service runs with
a `MemoryStore` (nothing is written to disk, nothing outlives the process), so M2M, workload
identity federation, PATs and `.databrickscfg` profiles work as on the server. A user login (U2M)
needs somewhere for Databricks to redirect the browser to, and a holder for the refresh token that
is not the kernel: that is the Jupyter server's job, so U2M says so and how to get one.

The service is async; kernels call us synchronously from any thread (IPython's main thread has its
own running loop under ipykernel). So the service lives on one private event loop in a daemon
thread, and each call is handed to it with `run_coroutine_threadsafe`.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

from ..core.connections import AuthMethod, Connection
from ..core.errors import ConfigError, CredentialsMissing, DbxAuthError
from ..core.oauth.tokens import fingerprint
from ..core.secret import Secret
from ..core.service import AuthService
from ..core.status import Status
from ..core.store.memory import MemoryStore
from ..core.wire import token_reply
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
#: The principal recorded in the (absent) audit trail for in-process calls.
USER = "in-process"


class U2MNeedsServer(DbxAuthError):
    """A user login was asked for where no Jupyter server can receive the OAuth callback."""

    default_hint = U2M_NEEDS_SERVER_HINT


class InProcessService:
    """`AuthService` on a private event loop, for kernels without a Jupyter server."""

    def __init__(
        self,
        *,
        explicit: Mapping[str, Mapping[str, Any]] | None = None,
        env: Mapping[str, str] | None = None,
        config_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.store = MemoryStore()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="jupyter-dbx-auth-service", daemon=True
        )
        self._thread.start()
        self.service: AuthService = self.run(self._make(explicit, env, config_file))

    def __repr__(self) -> str:
        return f"<InProcessService connections={self.service.names()}>"

    async def _make(
        self,
        explicit: Mapping[str, Mapping[str, Any]] | None,
        env: Mapping[str, str] | None,
        config_file: str | os.PathLike[str] | None,
    ) -> AuthService:
        import httpx

        # Created on the service's loop: an AsyncClient belongs to the loop that uses it.
        self._http = httpx.AsyncClient(timeout=30.0)
        service = AuthService(
            store=self.store, http=self._http, explicit=explicit, env=env, config_file=config_file
        )
        await service.ready()
        return service

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self.run(self.service.aclose(), timeout=5)
            self.run(self._http.aclose(), timeout=5)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()

    # -- connections ------------------------------------------------------------------------

    def connections(self) -> tuple[list[Connection], dict[str, ConfigError]]:
        return self.run(self._connections())

    async def _connections(self) -> tuple[list[Connection], dict[str, ConfigError]]:
        # On the service's loop, like every other call: the listing is not shared across threads.
        self.service.reload()
        problems = {n: e for n, e in self.service.problems().items() if isinstance(e, ConfigError)}
        return [self.service.get(n) for n in self.service.names()], problems

    def resolve(self, name: str | None = None, *, host: str | None = None) -> Connection:
        return self.service.resolve(name, host=host)

    def remember(self, conn: Connection) -> None:
        self.service.remember(conn)

    # -- tokens and status ------------------------------------------------------------------

    def token(self, conn: Connection, *, rejected: Secret | None = None) -> KernelToken:
        if conn.method is AuthMethod.USER:
            raise U2MNeedsServer(
                f"Connection {conn.name} signs in as a user (U2M), which needs the Jupyter "
                "server: the server receives the Databricks sign-in and keeps the refresh token "
                "out of the kernel."
            )
        refused = fingerprint(rejected) if rejected is not None else None
        try:
            tokens = self.run(self.service.token(conn, rejected=refused))
        except CredentialsMissing as exc:
            raise CredentialsMissing(exc.message, hint=SP_SECRET_HINT) from None
        # The same answer a kernel gets from the server, read the same way.
        token = KernelToken.from_reply(token_reply(conn, tokens))
        assert token is not None  # the service returned a token
        return token

    def status(self, conn: Connection) -> Status:
        return self.run(self.service.broker.load_status(conn))

    def expires_at(self, conn: Connection) -> float | None:
        cached = self.service.broker.cached_token(conn)
        return cached.expires_at if cached else None

    # -- service principals -----------------------------------------------------------------

    def add_service_principal(
        self,
        conn: Connection,
        client_id: str,
        client_secret: Secret,
        *,
        expires_at: float | None = None,
        label: str = "",
    ) -> dict[str, Any]:
        """Keep a service principal's secret in this process's memory (checked first)."""
        return self.run(
            self.service.add_service_principal(
                conn,
                client_id=client_id,
                client_secret=client_secret,
                expires_at=expires_at,
                label=label,
                user=USER,
            )
        )

    def service_principals(self, conn: Connection) -> list[dict[str, Any]]:
        return self.run(self.service.list_service_principals(conn))

    def sp_connection(self, conn: Connection, client_id: str) -> Connection:
        return self.service.sp_connection(conn, client_id)

    def logout(self, conn: Connection) -> None:
        self.run(self.service.logout(conn, user=USER))
