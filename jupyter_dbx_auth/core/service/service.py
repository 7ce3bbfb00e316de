"""`AuthService`: the application, used alike by the server, the in-process kernel path and hubs.

Tornado-free and async. Front ends (jupyter-server handlers, the unix-socket transport, the
in-process facade, and next a hub token service or a metadata endpoint) parse their input, call
one method here and render the answer; none keeps state or policy of its own:
- connections: config, environment and `.databrickscfg` resolved (`connections.py`);
- sign-ins: the one login-state table (`pending.py`), callback URL rules (`redirects.py`),
  sign-ins declined, cancelled, timed out (`timeouts.py`) or awaited (`sign_in_ends.py`);
- service principals: one record scheme and public view (`service_principals.py`);
- identity: SCIM `Me`, in memory only (`identity.py`);
- tokens, including what a rejected token means (`token`, `rejected.py`);
- status events for whoever listens (`events.py`);
- in a hub-spawned server, the hub token service's connections (`hub_mode.py`).
Every dictionary returned here is safe for a browser: no token, no secret. Store reads and
decryption run in worker threads, never on the event loop.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ..broker import TokenBroker
from ..connections import AuthMethod, Connection
from ..errors import BadRequest, DbxAuthError
from ..hub_client import HubServiceClient
from ..oauth.authorize import PendingLogin
from ..oauth.engine import DEFAULT_CLIENT_ID, OAuthEngine
from ..oauth.tokens import TokenSet, fingerprint
from ..status import State, Status
from ..store.base import SecretStore
from .connections import Connections, OAuthApp
from .endings import SignInEndings
from .events import EventHub
from .hub_mode import HubMode
from .identity import Identities
from .pasted import declined, read_pasted
from .pending import PendingLogins
from .redirects import callback_url, normalize_public_url
from .rejected import ForcedRefreshes
from .service_principals import ServicePrincipals
from .settings import ServiceSettings
from .sign_in_ends import SignInEnds
from .sp_methods import PrincipalMethods
from .timeouts import SignInTimeouts

log = logging.getLogger(__name__)


class AuthService(SignInEnds, PrincipalMethods):
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
        hub: HubServiceClient | None = None,
    ) -> None:
        self.settings = settings = settings or ServiceSettings()
        # Hub mode: the hub token service's connections beside this server's own.
        poll = settings.hub_poll_interval
        self.hub = HubMode(hub, login_ttl=settings.login_ttl, poll_interval=poll) if hub else None
        self.store = store
        self.http = http
        self.app = app or OAuthApp()
        # env None: the live process environment. The server passes a copy taken at start-up:
        # it removes secrets from its environment (so kernels never inherit them), and they
        # still configure connections here.
        self.connections = Connections(
            explicit=explicit,
            include_profiles=include_profiles,
            config_file=config_file,
            env=os.environ if env is None else env,
            app=self.app,
        )
        self.public_url = normalize_public_url(settings.public_url)
        self.events = events or EventHub()
        self.audit = audit
        self._clock = clock
        self.service_principals = ServicePrincipals(
            store, warn_days=settings.secret_expiry_warning_days, clock=clock
        )
        self.broker = TokenBroker(
            store,
            engine or OAuthEngine(http=http, environ=env),
            refresh_margin=settings.refresh_margin,
            secrets=self.service_principals,
            remote=self.hub,
            clock=clock,
        )
        self.pending: PendingLogins[PendingLogin] = PendingLogins(
            ttl=settings.login_ttl,
            per_user=settings.max_pending_per_user,
            per_client=settings.max_pending_per_client,
            total=settings.max_pending_total,
        )
        self.identities = Identities(http)
        self._last_state: dict[str, State] = {}
        self._forced = ForcedRefreshes(settings.forced_refresh_interval, clock)
        self._unsubscribe = self.broker.subscribe(self._on_status)
        self.endings = SignInEndings()  # how pending sign-ins end; who hears that they did
        self.timeouts = SignInTimeouts(self.pending.ttl, self.expire_login)
        if self.hub is not None:
            self.hub.attach(self)

    def __repr__(self) -> str:
        return f"<AuthService store={self.store.backend!r} connections={self.names()}>"

    async def ready(self) -> None:
        """Load what is kept in memory (service principals' public fields), off the loop."""
        if not self.service_principals.loaded:
            await self.service_principals.load()
        if self.hub is not None:
            await self.hub.ready()

    # -- connections (`connections.py`) ---------------------------------------------------

    def reload(self) -> None:
        """Resolve connections again (config, environment, `.databrickscfg`)."""
        for old in self.connections.reload():
            self.broker.forget(old)

    def names(self) -> list[str]:
        return self.connections.names()

    def problems(self) -> dict[str, DbxAuthError]:  # by name, from the last `reload`
        return self.connections.problems()

    def get(self, name: str | None) -> Connection:  # a listed one (`NotFound` otherwise)
        return self.connections.get(name)

    def resolve(self, name: str | None = None, *, host: str | None = None) -> Connection:
        """A connection by name (listed, explicit or a profile), by host (with the environment's
        credentials), or the SDK's default (`None`), remembered under its name from now on."""
        return self.connections.resolve(name, host=host)

    def remember(self, conn: Connection) -> None:  # an ad-hoc host, an account side
        self.connections.remember(conn)

    def status_dict(self, conn: Connection, status: Status | None = None) -> dict[str, Any]:
        status = status or self.broker.status(conn)
        cached = self.broker.cached_token(conn)
        if self.is_hub(conn):
            return self.hub.render(conn, status, cached)  # type: ignore[union-attr]
        return {
            **conn.public_dict(),
            **status.to_dict(),
            "status": status.state.value,
            "warnings": list(status.warnings) or self.broker.warnings(conn),
            "identity": self.identities.get(conn.name),
            "expires_at": cached.expires_at if cached else None,
            "sign_in": self.endings.how(conn.name) if status.state is State.LOGIN_PENDING else None,
            "credentials": self.service_principals.source(conn),
        }

    async def list_connections(self, *, fresh: bool = True) -> dict[str, Any]:
        """Every connection with status, identity and warnings; problems; the store's warnings.
        `fresh=False`: the hub service's connections as last read (hub mode)."""
        await self.ready()
        if self.hub is not None and fresh:
            await self.hub.refresh_quietly()  # its failure is listed among the problems
        conns = [self.get(n) for n in self.names()]
        statuses = [await self.broker.load_status(c) for c in conns]
        return {
            "connections": [self.status_dict(c, s) for c, s in zip(conns, statuses, strict=True)],
            "problems": [
                {"name": name, "message": exc.message, "hint": exc.hint}
                for name, exc in sorted(self.problems().items())
            ]
            + (self.hub.problems() if self.hub else []),
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
        conn = self.connections.find(name)
        if conn is None:
            return
        self.events.publish({"type": "status", **self.status_dict(conn, status)})

    # -- U2M sign-in -----------------------------------------------------------------------

    @property
    def login_ttl(self) -> float:
        return self.pending.ttl

    def redirect_uri(self, conn: Connection, *, protocol: str, host: str, base_url: str) -> str:
        """The callback URL for a sign-in the browser started at `host` (`redirects.py`)."""
        return callback_url(
            redirect_url=self.app.redirect_url,
            public_url=self.public_url,
            protocol=protocol,
            host=host,
            base_url=base_url,
            public_app=conn.client_id in (None, DEFAULT_CLIENT_ID),
        )

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
        self.timeouts.watch(pending.state)
        self._audit("login", conn.name, outcome="started", user=user)
        return url

    async def complete_pasted(
        self, conn: Connection, *, user: str | None, text: object
    ) -> tuple[str, str | None]:
        """Finish a sign-in from the address its browser ended on, pasted by a person: the same
        checks as the callback (`complete_login`), after `parse_pasted_address` has checked that
        the address answers the redirect URI this sign-in sent. `user` None: a kernel pastes."""
        self.refuse_on_hub(conn, "finishing a sign-in by a pasted address")
        response = read_pasted(self.pending, conn.name, text)
        if response.error:
            await self.decline_login(user=user, state=response.state, error=response.error)
            raise declined(response)
        return await self.complete_login(user=user, state=response.state, code=response.code or "")

    async def complete_login(
        self, *, user: str | None, state: str | None, code: str
    ) -> tuple[str, str | None]:
        """(connection name, next URL). Raises `StateRejected` or another `DbxAuthError`.
        `user` None: a kernel of this server completes it (`PendingLogins.take`)."""
        self.endings.ended(state)
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
        if self.hub is not None and self.is_hub(conn):
            await self.hub.logout(conn)
            self._audit("logout", conn.name, user=user, at="hub")
            return await self.connection_status(conn)
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
        if self.identities.known_or_reading(conn.name) or self.is_hub(conn):
            return  # a hub connection's identity is the hub service's to say

        async def run() -> None:
            try:
                tokens = await self.broker.get_token(conn)
            except DbxAuthError:
                return
            await self.identities.read(conn, tokens)
            self._on_status(conn.name, self.broker.status(conn))

        self.identities.track(conn.name, run())

    async def settle_identities(self, timeout: float = 5.0) -> None:  # reads in flight
        await self.identities.settle(timeout)

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
        cached = self.broker.cached_token(conn)
        if cached is not None and (
            rejected is None or fingerprint(cached.access_token) != rejected
        ):
            return cached  # the hot path: no await, no store read, no decryption
        await self.ready()
        if cached is None or rejected is None:
            # Nothing cached here (first use, a restart): any fresh token is not the refused one.
            tokens = await self.broker.get_token(conn)
        else:
            self._forced.allow(conn.name, rejected)
            tokens = await self.broker.get_token(conn, rejected=cached.access_token)
        if (
            conn.method is AuthMethod.USER
            and self.identities.get(conn.name) is None
            and not self.is_hub(conn)
        ):
            await self.identities.read(conn, tokens)
        return tokens

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

    # -- hub mode (`hub_mode.py`) -------------------------------------------------------------

    def is_hub(self, conn: Connection) -> bool:
        """Whether the hub token service holds `conn` (hub mode)."""
        return self.hub is not None and self.hub.serves(conn)

    def refuse_on_hub(self, conn: Connection, what: str) -> None:
        """`BadRequest` saying what to do instead, for what only local connections can do."""
        if self.hub is not None:
            self.hub.refuse(conn, what)

    async def aclose(self) -> None:
        if self.hub is not None:
            await self.hub.aclose()
        self.endings.clear()
        self.timeouts.cancel()
        self._unsubscribe()
        self.identities.cancel()
        self.events.shutdown()
