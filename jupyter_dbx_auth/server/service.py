"""What the handlers ask for, without tornado: connections, logins, service principals, tokens.

The handlers stay thin (parse, authorize, call one method here, write JSON). This module adapts the
core (config resolution, `TokenBroker`, the secret store) to the server's policies:
- U2M connections without a client of their own use the server's OAuth app, if one is configured;
- logins are bound to the Jupyter user (`PendingLogins`) on top of the broker's own state check;
- identities come from SCIM `Me` with the fresh access token, kept in memory only (`identity.py`);
- every dictionary returned here is safe for a browser: no token, no secret.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import re
import time
from collections.abc import Mapping
from typing import Any

import httpx

from ..core import service_principals as sps
from ..core.broker import TokenBroker
from ..core.config import resolve_all, resolve_connection
from ..core.connections import AuthMethod, Connection
from ..core.errors import ConfigError, CredentialsMissing, DbxAuthError
from ..core.oauth.authorize import PendingLogin
from ..core.oauth.tokens import TokenSet, fingerprint
from ..core.secret import Secret
from ..core.status import Reason, State, Status
from ..core.store.base import SecretStore
from .events import EventHub
from .identity import Identities
from .pending import PendingLogins, StateRejected
from .redirects import DOCS_URL, callback_url, host_is_loopback

log = logging.getLogger(__name__)


class NotFound(DbxAuthError):
    """An unknown connection or service principal (HTTP 404)."""


class BadRequest(DbxAuthError):
    """Input the server cannot act on (HTTP 400)."""


@dataclasses.dataclass(frozen=True)
class OAuthApp:
    """The server's OAuth app for U2M; None fields mean "not configured"."""

    client_id: str | None = None
    client_secret: Secret | None = None
    redirect_url: str | None = None


class DbxAuthService:
    def __init__(
        self,
        *,
        store: SecretStore,
        broker: TokenBroker,
        http: httpx.AsyncClient,
        explicit: Mapping[str, Mapping[str, Any]],
        include_profiles: bool,
        app: OAuthApp,
        pending: PendingLogins[PendingLogin],
        events: EventHub,
        audit: Any = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.broker = broker
        self.http = http
        self.explicit = explicit
        self.include_profiles = include_profiles
        self.app = app
        self.pending = pending
        self.events = events
        self.audit = audit
        # The environment as the server started with it: secrets in it are removed from the
        # process environment (so kernels never inherit them) but still configure connections.
        self.env = dict(os.environ if env is None else env)
        self._connections: dict[str, Connection] = {}
        self._problems: dict[str, DbxAuthError] = {}
        self.identities = Identities(http)
        self._last_state: dict[str, State] = {}
        self._unsubscribe = broker.subscribe(self._on_status)

    # -- connections ---------------------------------------------------------------------

    def reload(self) -> None:
        """Resolve connections again (config, environment, `.databrickscfg`)."""
        found: list[Connection] = []
        problems: dict[str, DbxAuthError] = {}
        if self.include_profiles:
            resolved = resolve_all(self.explicit, env=self.env)
            found, problems = resolved.connections, dict(resolved.problems)
        else:
            for name in self.explicit:
                try:
                    found.append(resolve_connection(name, explicit=self.explicit, env=self.env))
                except ConfigError as exc:
                    log.warning("Connection %s skipped: %s", name, exc)
                    problems[name] = exc
        connections = {c.name: self._with_app(c) for c in found}
        for name, old in self._connections.items():
            if connections.get(name) != old:
                self.broker.forget(old)
        self._connections = connections
        self._problems = problems

    def _with_app(self, conn: Connection) -> Connection:
        if conn.method is AuthMethod.USER and not conn.client_id and self.app.client_id:
            return dataclasses.replace(
                conn, client_id=self.app.client_id, client_secret=self.app.client_secret
            )
        return conn

    def names(self) -> list[str]:
        return sorted(self._connections)

    def get(self, name: str | None) -> Connection:
        if not name:
            raise BadRequest("No connection named.", hint="Pass ?connection=<name>.")
        conn = self._connections.get(name)
        if conn is None:
            known = ", ".join(self.names()) or "none configured"
            raise NotFound(
                f"Unknown connection {name!r}.",
                hint=f"Known connections: {known}. Add it to {self.config_sources()}.",
            )
        return conn

    def config_sources(self) -> str:
        """The configuration this server reads connections from, as a person would look for it."""
        where = "c.DatabricksAuth.connections"
        if self.include_profiles:
            cfg = self.env.get("DATABRICKS_CONFIG_FILE") or "~/.databrickscfg"
            where += f" or a profile in {cfg}"
        return where

    def status_dict(self, conn: Connection, status: Status | None = None) -> dict[str, Any]:
        status = status or self.broker.status(conn)
        cached = self.broker.cached_token(conn)
        warnings = list(status.warnings) or self.broker.warnings(conn)
        return {
            **conn.public_dict(),
            **status.to_dict(),
            "status": status.state.value,
            "warnings": warnings,
            "identity": self.identities.get(conn.name),
            "expires_at": cached.expires_at if cached else None,
            "credentials": sps.credential_source(self.store, conn),
        }

    def list_connections(self) -> dict[str, Any]:
        return {
            "connections": [self.status_dict(self._connections[n]) for n in self.names()],
            "problems": [
                {"name": name, "message": exc.message, "hint": exc.hint}
                for name, exc in sorted(self._problems.items())
            ],
            "store": {"backend": self.store.backend, "warnings": self.store.warnings()},
        }

    def _on_status(self, name: str, status: Status) -> None:
        previous = self._last_state.get(name)
        self._last_state[name] = status.state
        if previous is State.REFRESHING and status.state is not State.REFRESHING:
            self._audit_refresh(name, status)
        conn = self._connections.get(name)
        if conn is None:
            return
        self.events.publish({"type": "status", **self.status_dict(conn, status)})

    # -- U2M login ------------------------------------------------------------------------

    def redirect_uri(self, conn: Connection, *, protocol: str, host: str, base_url: str) -> str:
        """Explicit redirect URL, else this server's callback (loopback or custom app only)."""
        if self.app.redirect_url:
            return self.app.redirect_url
        if conn.client_id is None and not host_is_loopback(host):
            raise BadRequest(
                "Signing in from a server reached at a non-loopback address needs a custom "
                "Databricks OAuth app: the public databricks-cli app only accepts localhost "
                "callbacks.",
                hint="Register an OAuth app with redirect URL "
                f"{callback_url(explicit=None, protocol=protocol, host=host, base_url=base_url)}"
                f" and set c.DatabricksAuth.oauth_client_id; see {DOCS_URL}.",
            )
        return callback_url(explicit=None, protocol=protocol, host=host, base_url=base_url)

    async def begin_login(
        self, conn: Connection, *, user: str, redirect_uri: str, next_url: str | None
    ) -> str:
        if conn.method is not AuthMethod.USER:
            raise BadRequest(
                f"Connection {conn.name} signs in with {conn.method.value}, not a user login.",
                hint="Add a service principal secret instead, or use a U2M connection.",
            )
        url, pending = await self.broker.begin_login(conn, redirect_uri)
        self.pending.add(user, conn.name, pending.state, pending, next_url)
        self._audit("login", conn.name, outcome="started", user=user)
        return url

    async def complete_login(
        self, *, user: str, state: str | None, code: str
    ) -> tuple[str, str | None]:
        """(connection name, next URL). Raises `StateRejected` or `DbxAuthError`."""
        try:
            entry = self.pending.take(user, state)
        except StateRejected as exc:
            self._audit(
                "failure", None, outcome="rejected", user=user, step="callback", reason=exc.reason
            )
            raise
        conn = self.get(entry.connection)
        # The code exchange and the identity read are one tracked read, so that listings made
        # meanwhile wait for the identity (`settle_identities`).
        try:
            await self.identities.track(conn.name, self._sign_in(conn, entry.pending, code))
        except DbxAuthError as exc:
            self._audit(
                "failure",
                conn.name,
                outcome="error",
                user=user,
                step="code_exchange",
                error=exc.message,
            )
            raise
        self._audit("login", conn.name, user=user, identity=self.identities.get(conn.name))
        self._on_status(conn.name, self.broker.status(conn))
        return conn.name, entry.next_url

    async def _sign_in(self, conn: Connection, pending: PendingLogin, code: str) -> None:
        tokens = await self.broker.complete_login(conn, pending, code, pending.state)
        await self.identities.read(conn, tokens)

    def cancel_login(self, conn: Connection, *, user: str) -> dict[str, Any]:
        """Give up the pending sign-in of `conn` (Cancel, or its window was closed): its states
        stop working and the connection shows what it showed before the sign-in started."""
        self.pending.drop_connection(conn.name)
        status = self.broker.abandon_login(conn, Reason.CANCELLED)
        self._audit("login", conn.name, outcome="cancelled", user=user)
        return self.status_dict(conn, status)

    def decline_login(self, *, user: str, state: str | None, error: str) -> None:
        """The IdP sent the browser back with `error` instead of a code (e.g. the user pressed
        Deny): burn the state, and say so on the connection at once instead of "waiting"."""
        try:
            entry = self.pending.take(user, state)
        except StateRejected:
            return  # not this user's sign-in (or already over): nothing to change
        conn = self._connections.get(entry.connection)
        if conn is None:
            return
        if error == "access_denied":
            reason, message = Reason.DECLINED, "You declined the sign-in at Databricks."
        else:
            code = error if re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", error) else "unknown error"
            reason, message = Reason.CANCELLED, f"Databricks refused the sign-in ({code})."
        self.broker.abandon_login(conn, reason, message)
        self._audit("failure", conn.name, outcome=reason.value, user=user, step="authorize")

    def note_kernel_waiting(self, conn: Connection) -> None:
        """A kernel asked for a sign-in link and waits: the sidebar says "waiting for sign-in"."""
        if conn.method is AuthMethod.USER:
            self.broker.note_waiting(conn)

    async def logout(self, conn: Connection, *, user: str) -> dict[str, Any]:
        self.pending.drop_connection(conn.name)
        await self.broker.logout(conn)
        self.identities.forget(conn.name)
        self._audit("logout", conn.name, user=user)
        return self.status_dict(conn)

    # -- identity --------------------------------------------------------------------------

    def identity_of(self, name: str) -> str | None:
        return self.identities.get(name)

    def learn_identity_soon(self, conn: Connection) -> None:
        """After a restart the identity is unknown: look it up in the background."""
        if self.identities.known_or_reading(conn.name):
            return

        async def run() -> None:
            try:
                tokens = await self.broker.get_token(conn)
            except DbxAuthError:
                return
            await self.identities.read(conn, tokens)
            self._on_status(conn.name, self.broker.status(conn))

        self.identities.track(conn.name, run())

    async def settle_identities(self, timeout: float = 5.0) -> None:
        """Wait (bounded) for identity reads in flight: sign-ins and `learn_identity_soon`."""
        await self.identities.settle(timeout)

    # -- service principals -------------------------------------------------------------

    def list_service_principals(self, conn: Connection | None) -> list[dict[str, Any]]:
        names = [conn.name] if conn else self.names()
        result = []
        now = time.time()
        for name in names:
            prefix = f"{name}/"
            for key in self.store.keys(sps.NAMESPACE):
                if not key.startswith(prefix):
                    continue
                record = self.store.get(sps.NAMESPACE, key) or {}
                result.append(self._sp_public(name, record, now))
        return result

    def _sp_public(self, name: str, record: Mapping[str, Any], now: float) -> dict[str, Any]:
        expires_at = record.get("expires_at")
        warn_days = self.broker.secret_expiry_warning_days
        warning = None
        if isinstance(expires_at, (int, float)):
            days = (expires_at - now) / sps.DAY
            if days <= 0:
                warning = "The secret has expired: create a new one in the account console."
            elif days <= warn_days:
                warning = f"The secret expires in {days:.0f} days."
        # Whitelisted fields only: the record also holds the secret.
        return {
            "connection": name,
            "client_id": record.get("client_id"),
            "label": record.get("label") or "",
            "expires_at": expires_at,
            "warning": warning,
            "has_secret": bool(record.get("client_secret")),
        }

    async def add_service_principal(
        self,
        conn: Connection,
        *,
        client_id: str,
        client_secret: Secret,
        expires_at: float | None,
        label: str,
        user: str,
    ) -> dict[str, Any]:
        target = conn
        if conn.method is not AuthMethod.SERVICE_PRINCIPAL:
            # A U2M connection can also hold service principals for the same workspace.
            target = dataclasses.replace(
                conn, method=AuthMethod.SERVICE_PRINCIPAL, client_id=client_id
            )
        try:
            await self.broker.add_service_principal(
                target,
                client_id,
                client_secret,
                expires_at=expires_at,
                label=label,
                activate=conn.method is AuthMethod.SERVICE_PRINCIPAL,
            )
        except DbxAuthError as exc:
            self._audit(
                "failure",
                conn.name,
                outcome="rejected",
                user=user,
                step="secret_check",
                client_id=client_id,
                error=exc.message,
            )
            raise
        self._audit("secret_added", conn.name, user=user, client_id=client_id)
        record = await asyncio.to_thread(self.store.get, sps.NAMESPACE, sps.key(conn, client_id))
        return self._sp_public(conn.name, record or {}, time.time())

    async def remove_service_principal(
        self, conn: Connection, client_id: str, *, user: str
    ) -> None:
        removed = await self.broker.remove_service_principal(conn, client_id)
        if not removed:
            raise NotFound(
                f"No service principal {client_id!r} is stored for connection {conn.name}.",
                hint="List them with GET api/service-principals?connection=<name>.",
            )
        self._audit("secret_removed", conn.name, user=user, client_id=client_id)

    # -- tokens for kernels ---------------------------------------------------------------

    def sp_connection(self, conn: Connection, client_id: str) -> Connection:
        """`conn` acting as one of its stored service principals (a separate broker cache key)."""
        if conn.method is AuthMethod.SERVICE_PRINCIPAL and conn.client_id == client_id:
            return conn
        record = self.store.get(sps.NAMESPACE, sps.key(conn, client_id))
        if not record or not record.get("client_secret"):
            raise CredentialsMissing(
                f"No secret is stored for service principal {client_id!r} of {conn.name}.",
                hint="Add it in the Databricks sidebar or with the service principal widget.",
            )
        return dataclasses.replace(
            conn,
            name=f"{conn.name}#sp:{client_id}",
            method=AuthMethod.SERVICE_PRINCIPAL,
            client_id=client_id,
            client_secret=Secret(record["client_secret"]),
            scopes=tuple(s for s in conn.scopes if s != "offline_access") or ("all-apis",),
        )

    async def replace_rejected(self, conn: Connection, rejected: str | None) -> TokenSet:
        """A new token after Databricks refused the one fingerprinted `rejected`.

        If the current token is already another one, that kernel had a stale token: hand it the
        current one instead of refreshing again (N kernels reporting one 401 cost one refresh).
        """
        cached = self.broker.cached_token(conn)
        if cached is not None and rejected and fingerprint(cached.access_token) != rejected:
            return cached
        return await self.broker.get_token(
            conn, rejected=cached.access_token if cached is not None else None
        )

    async def token(self, conn: Connection) -> TokenSet:
        cached = self.broker.cached_token(conn)
        if cached is not None:
            return cached
        tokens = await self.broker.get_token(conn)
        if conn.method is AuthMethod.USER and self.identities.get(conn.name) is None:
            await self.identities.read(conn, tokens)
        return tokens

    # -- misc -----------------------------------------------------------------------------

    def _audit_refresh(self, name: str, status: Status) -> None:
        """Each token request the broker made by itself (refresh, client credentials, exchange)."""
        if status.state is State.OK:
            self._audit("refresh", name, identity=self.identities.get(name))
        else:
            self._audit("refresh", name, outcome=status.state.value, error=status.message)

    def _audit(self, event: str, connection: str | None, **fields: Any) -> None:
        if self.audit is None:
            return
        try:
            self.audit.record(event, connection=connection, **fields)
        except Exception as exc:  # the audit log must not break a sign-in
            log.warning("Audit log write failed (%s)", type(exc).__name__)

    async def aclose(self) -> None:
        self._unsubscribe()
        self.identities.cancel()
        self.events.shutdown()
