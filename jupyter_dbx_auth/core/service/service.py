"""`AuthService`: the application, used alike by the server, the in-process kernel path and hubs.

Tornado-free and async. Front ends (jupyter-server handlers, the unix-socket transport, the
in-process facade, and next a hub token service or a metadata endpoint) parse their input, call
one method here and render the answer; none keeps state or policy of its own:
- connections: configuration, environment and `.databrickscfg` resolved into `Connection`s; U2M
  connections without a client of their own use the configured OAuth app;
- sign-ins: the one login-state table (`pending.py`), callback URL rules (`redirects.py`);
- service principals: one record scheme and public view (`service_principals.py`);
- identity: SCIM `Me`, in memory only (`identity.py`);
- tokens, including what a rejected token means (`token`);
- status events for whoever listens (`events.py`).
Every dictionary returned here is safe for a browser: no token, no secret. Store reads and
decryption run in worker threads, never on the event loop.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ..broker import TokenBroker
from ..config import resolve_all, resolve_connection
from ..connections import AuthMethod, Connection
from ..errors import BadRequest, ConfigError, DbxAuthError, NotFound, TooManyRequests
from ..oauth.authorize import PendingLogin
from ..oauth.engine import OAuthEngine
from ..oauth.tokens import TokenSet, fingerprint
from ..secret import Secret
from ..status import State, Status
from ..store.base import SecretStore
from .events import EventHub
from .identity import Identities
from .pending import LOGIN_TTL, PER_CLIENT, PER_USER, TOTAL, PendingLogins
from .redirects import DOCS_URL, callback_url, host_is_loopback, normalize_public_url
from .service_principals import ServicePrincipals, acting_as

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class OAuthApp:
    """The OAuth app for U2M sign-ins; None fields mean "not configured"."""

    client_id: str | None = None
    client_secret: Secret | None = None
    redirect_url: str | None = None


@dataclasses.dataclass(frozen=True)
class ServiceSettings:
    """Policies a deployment sets (the server's `c.DatabricksAuth.*` traits)."""

    refresh_margin: float = 300.0
    secret_expiry_warning_days: float = 30.0
    login_ttl: float = LOGIN_TTL
    max_pending_per_user: int = PER_USER
    max_pending_per_client: int = PER_CLIENT
    max_pending_total: int = TOTAL
    #: The address browsers use for the server (`scheme://host[:port]`), for callback URLs.
    public_url: str | None = None
    #: Shortest time between two forced refreshes of one connection (security finding 4).
    forced_refresh_interval: float = 30.0


class AuthService:
    def __init__(
        self,
        *,
        store: SecretStore,
        http: httpx.AsyncClient,
        explicit: Mapping[str, Mapping[str, Any]] | None = None,
        include_profiles: bool = True,
        config_file: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        app: OAuthApp | None = None,
        settings: ServiceSettings | None = None,
        events: EventHub | None = None,
        audit: Any = None,
        engine: OAuthEngine | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings = settings or ServiceSettings()
        self.store = store
        self.http = http
        self.explicit = dict(explicit or {})
        self.include_profiles = include_profiles
        self.config_file = config_file
        # None: the live process environment. The server passes a copy taken at start-up: it
        # removes secrets from its environment (so kernels never inherit them), and they still
        # configure connections here.
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.app = app or OAuthApp()
        self.public_url = normalize_public_url(settings.public_url)
        self.events = events or EventHub()
        self.audit = audit
        self._clock = clock
        self.service_principals = ServicePrincipals(
            store, warn_days=settings.secret_expiry_warning_days, clock=clock
        )
        self.broker = TokenBroker(
            store,
            engine or OAuthEngine(http=http),
            refresh_margin=settings.refresh_margin,
            secrets=self.service_principals,
            clock=clock,
        )
        self.pending: PendingLogins[PendingLogin] = PendingLogins(
            ttl=settings.login_ttl,
            per_user=settings.max_pending_per_user,
            per_client=settings.max_pending_per_client,
            total=settings.max_pending_total,
        )
        self.identities = Identities(http)
        self._connections: dict[str, Connection] = {}
        self._remembered: dict[str, Connection] = {}
        self._problems: dict[str, DbxAuthError] = {}
        self._last_state: dict[str, State] = {}
        # connection -> (fingerprint of the token last force-replaced, when)
        self._forced: dict[str, tuple[str, float]] = {}
        self._unsubscribe = self.broker.subscribe(self._on_status)

    def __repr__(self) -> str:
        return f"<AuthService store={self.store.backend!r} connections={self.names()}>"

    async def ready(self) -> None:
        """Load what is kept in memory (service principals' public fields), off the loop."""
        if not self.service_principals.loaded:
            await self.service_principals.load()

    # -- connections -----------------------------------------------------------------------

    def reload(self) -> None:
        """Resolve connections again (config, environment, `.databrickscfg`)."""
        found: list[Connection] = []
        problems: dict[str, DbxAuthError] = {}
        if self.include_profiles:
            resolved = resolve_all(self.explicit, env=self.env, config_file=self.config_file)
            found, problems = resolved.connections, dict(resolved.problems)
        else:
            for name in self.explicit:
                try:
                    found.append(resolve_connection(name, explicit=self.explicit, env=self.env))
                except ConfigError as exc:
                    log.warning("Connection %s skipped: %s", name, exc)
                    problems[name] = exc
        connections = {c.name: self._with_app(c) for c in found}
        for name, conn in self._remembered.items():
            connections.setdefault(name, conn)
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

    def problems(self) -> dict[str, DbxAuthError]:
        """Configured connections that could not be resolved, by name, from the last `reload`."""
        return dict(self._problems)

    def get(self, name: str | None) -> Connection:
        """A listed connection by name (`NotFound` otherwise)."""
        if not name:
            raise BadRequest("No connection named.", hint="Pass ?connection=<name>.")
        conn = self._connections.get(name)
        if conn is None:
            known = ", ".join(self.names()) or "none configured"
            raise NotFound(
                f"Unknown connection {name!r}.",
                hint=f"Known connections: {known}. Add it to c.DatabricksAuth.connections "
                "or ~/.databrickscfg.",
            )
        return conn

    def resolve(self, name: str | None = None, *, host: str | None = None) -> Connection:
        """A connection by name (listed, explicit or a profile), by host (with the environment's
        credentials), or the SDK's default (`None`), remembered under its name from now on."""
        if host is not None:
            conn = resolve_connection(
                "_host", explicit={"_host": {"host": host}}, env=self.env, config_file=None
            )
            conn = dataclasses.replace(conn, name=name or conn.host)
        elif name is not None and name in self._connections:
            return self._connections[name]
        else:
            conn = resolve_connection(
                name, explicit=self.explicit, env=self.env, config_file=self.config_file
            )
        self.remember(conn)
        return self._connections[conn.name]

    def remember(self, conn: Connection) -> None:
        """List `conn` under its name from now on (an ad-hoc host, an account side)."""
        conn = self._with_app(conn)
        self._remembered[conn.name] = conn
        self._connections[conn.name] = conn

    def status_dict(self, conn: Connection, status: Status | None = None) -> dict[str, Any]:
        status = status or self.broker.status(conn)
        cached = self.broker.cached_token(conn)
        return {
            **conn.public_dict(),
            **status.to_dict(),
            "status": status.state.value,
            "warnings": list(status.warnings) or self.broker.warnings(conn),
            "identity": self.identities.get(conn.name),
            "expires_at": cached.expires_at if cached else None,
        }

    async def list_connections(self) -> dict[str, Any]:
        """Every connection with status, identity and warnings; problems; the store's warnings."""
        await self.ready()
        conns = [self._connections[n] for n in self.names()]
        statuses = [await self.broker.load_status(c) for c in conns]
        return {
            "connections": [self.status_dict(c, s) for c, s in zip(conns, statuses, strict=True)],
            "problems": [
                {"name": name, "message": exc.message, "hint": exc.hint}
                for name, exc in sorted(self._problems.items())
            ],
            "store": {"backend": self.store.backend, "warnings": self.store.warnings()},
        }

    async def connection_status(self, conn: Connection) -> dict[str, Any]:
        await self.ready()
        return self.status_dict(conn, await self.broker.load_status(conn))

    def _on_status(self, name: str, status: Status) -> None:
        previous = self._last_state.get(name)
        self._last_state[name] = status.state
        if previous is State.REFRESHING and status.state is not State.REFRESHING:
            self._audit_refresh(name, status)
        conn = self._connections.get(name)
        if conn is None:
            return
        self.events.publish({"type": "status", **self.status_dict(conn, status)})

    # -- U2M sign-in -----------------------------------------------------------------------

    @property
    def login_ttl(self) -> float:
        return self.pending.ttl

    def redirect_uri(self, conn: Connection, *, protocol: str, host: str, base_url: str) -> str:
        """The callback URL for a sign-in the browser started at `host` (`redirects.py`)."""
        url = callback_url(
            redirect_url=self.app.redirect_url,
            public_url=self.public_url,
            protocol=protocol,
            host=host,
            base_url=base_url,
        )
        if conn.client_id is None and not self.app.redirect_url and self.public_url:
            if not host_is_loopback(self.public_url.partition("://")[2]):
                raise BadRequest(
                    "Signing in from a server reached at a non-loopback address needs a custom "
                    "Databricks OAuth app: the public databricks-cli app only accepts localhost "
                    "callbacks.",
                    hint=f"Register an OAuth app with redirect URL {url} and set "
                    f"c.DatabricksAuth.oauth_client_id; see {DOCS_URL}.",
                )
        return url

    async def begin_login(
        self,
        conn: Connection,
        *,
        user: str,
        redirect_uri: str,
        next_url: str | None,
        client: str = "",
    ) -> str:
        """Start a sign-in bound to `user` (from `client`, for the bounds); the authorize URL."""
        if conn.method is not AuthMethod.USER:
            raise BadRequest(
                f"Connection {conn.name} signs in with {conn.method.value}, not a user login.",
                hint="Add a service principal secret instead, or use a U2M connection.",
            )
        url, pending = await self.broker.begin_login(conn, redirect_uri)
        self.pending.add(user, conn.name, pending.state, pending, next_url, client=client)
        self._audit("login", conn.name, outcome="started", user=user)
        return url

    def cancel_login(self, *, user: str, state: str | None) -> None:
        """The IdP answered with an error: burn the state so it cannot complete later."""
        if state:
            try:
                self.pending.take(user, state)
            except DbxAuthError:
                pass

    async def complete_login(
        self, *, user: str, state: str | None, code: str
    ) -> tuple[str, str | None]:
        """(connection name, next URL). Raises `StateRejected` or another `DbxAuthError`."""
        try:
            entry = self.pending.take(user, state)
        except DbxAuthError as exc:
            reason = getattr(exc, "reason", "")
            self._audit(
                "failure", None, outcome="rejected", user=user, step="callback", reason=reason
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
        tokens = await self.broker.complete_login(conn, pending, code)
        await self.identities.read(conn, tokens)

    async def logout(self, conn: Connection, *, user: str) -> dict[str, Any]:
        self.pending.drop_connection(conn.name)
        await self.broker.logout(conn)
        self.identities.forget(conn.name)
        self._audit("logout", conn.name, user=user)
        return await self.connection_status(conn)

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

    # -- service principals ----------------------------------------------------------------

    async def list_service_principals(self, conn: Connection | None) -> list[dict[str, Any]]:
        """The public view of stored principals (of `conn`), re-read from the store off-loop."""
        await self.service_principals.load()  # another process may have added some
        names = [conn.name] if conn else self.names()
        return [sp for name in names for sp in self.service_principals.public(name)]

    async def add_service_principal(
        self,
        conn: Connection,
        *,
        client_id: str,
        client_secret: Secret,
        expires_at: float | None,
        label: str,
        user: str,
        verify: bool = True,
    ) -> dict[str, Any]:
        """Check the secret with one client-credentials call, then store it; its public view."""
        await self.ready()
        target = acting_as(conn, client_id)
        try:
            if verify:
                await self.broker.verify_client_secret(target, client_id, client_secret)
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
        saved = await self.service_principals.save(
            conn, client_id, client_secret, expires_at=expires_at, label=label
        )
        # A U2M connection's status must not change for a principal stored beside it.
        self.broker.credentials_changed(target)
        self._audit("secret_added", conn.name, user=user, client_id=client_id)
        return saved

    async def remove_service_principal(
        self, conn: Connection, client_id: str, *, user: str
    ) -> None:
        removed = await self.service_principals.remove(conn, client_id)
        if not removed:
            raise NotFound(
                f"No service principal {client_id!r} is stored for connection {conn.name}.",
                hint="List them with GET api/service-principals?connection=<name>.",
            )
        self.broker.credentials_changed(acting_as(conn, client_id))
        self._audit("secret_removed", conn.name, user=user, client_id=client_id)

    def sp_connection(self, conn: Connection, client_id: str) -> Connection:
        """`conn` acting as one of its stored service principals (its own token cache entry)."""
        return self.service_principals.connection_for(conn, client_id)

    # -- tokens ----------------------------------------------------------------------------

    async def token(self, conn: Connection, *, rejected: str | None = None) -> TokenSet:
        """An access token for `conn`.

        `rejected`: the fingerprint (`core.oauth.tokens.fingerprint`) of a token Databricks
        refused (HTTP 401). If the current token is already another one, the caller had a stale
        token and gets the current one: N kernels reporting one 401 cost one refresh. If it is the
        current one, it is refreshed, at most once per `forced_refresh_interval` per connection
        (`TooManyRequests` otherwise: a token refused right after a refresh will not be saved by
        another refresh).
        """
        await self.ready()
        cached = self.broker.cached_token(conn)
        if rejected is None:
            if cached is not None:
                return cached
            tokens = await self.broker.get_token(conn)
        elif cached is not None and fingerprint(cached.access_token) != rejected:
            return cached
        else:
            tokens = await self._forced_refresh(conn, cached, rejected)
        if conn.method is AuthMethod.USER and self.identities.get(conn.name) is None:
            await self.identities.read(conn, tokens)
        return tokens

    async def _forced_refresh(
        self, conn: Connection, cached: TokenSet | None, rejected: str
    ) -> TokenSet:
        if cached is None:
            # Nothing cached here (a restart): any fresh token is not the rejected one.
            return await self.broker.get_token(conn)
        now = self._clock()
        interval = self.settings.forced_refresh_interval
        last = self._forced.get(conn.name)
        # More reports of the token already being replaced join that refresh (the broker's
        # single flight); a report of the *new* token soon after is refused.
        if last is not None and last[0] != rejected and now - last[1] < interval:
            wait = interval - (now - last[1])
            raise TooManyRequests(
                f"Databricks refused the token of {conn.name} that was issued "
                f"{now - last[1]:.0f} s ago; another refresh now would not help.",
                hint="Check the workspace's access for this identity (or sign in again); a new "
                f"token can be forced again in {wait:.0f} s.",
                retry_after=wait,
            )
        if last is None or last[0] != rejected:
            self._forced[conn.name] = (rejected, now)
        return await self.broker.get_token(conn, rejected=cached.access_token)

    # -- misc ------------------------------------------------------------------------------

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
