"""The token broker: one access token per connection, obtained and refreshed on demand.

Hot path: `get_token` returns the cached token with no await, lock or I/O while it is fresh
(`cached_token` is the same check, sync). A token is stale `refresh_margin` seconds before it
expires, and never later than half-way through its life.

Slow path, single-flight twice over:
- in this process, one asyncio task per connection; every caller awaits it;
- across processes (two Jupyter servers of one user), U2M refreshes run inside the store's
  `lock("u2m", name)`. Inside it the record is re-read first: a still-fresh access token stored by
  another process is used as is, and a refresh always spends the refresh token *in the store*
  (another process may have rotated it). The rotated refresh token is written to the store before
  the lock is released and before the old one is dropped from memory.

Store record conventions (the values are secrets: never log a record):
- namespace "u2m", key = connection name:
  {"refresh_token", "access_token", "expires_at", "scope", "host", "issued_at", "token_type"}
  (`issued_at` lets another process apply the half-life cap on the refresh margin).
- service principal secrets are not the broker's records: it asks its `SecretSource`
  (`core.service.service_principals`) for a client secret only when it must request a token.
- in hub mode, tokens of the hub service's connections come from its `RemoteTokens`
  (`core.service.hub_mode`), cached here like any other; no store record is read or written.

Login state (which sign-in a callback belongs to, its user, its TTL, single use) is not kept
here either: `core.service.pending` is the one table. The broker makes the authorize URL and,
given the pending login that table handed back, exchanges the code; it keeps the status a
connection had before a sign-in started, to put back when the service says the sign-in was
abandoned (`abandon_login`: declined, cancelled, its window closed).

Statuses (`core.status.State`) change only here; `subscribe(callback)` hears every change.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable

from .connections import AuthMethod, Connection
from .errors import CredentialsMissing, DbxAuthError, LoginRequired, OAuthError
from .locking import LockHolder, held_lock
from .oauth.authorize import PendingLogin
from .oauth.engine import OAuthEngine
from .oauth.tokens import TokenSet
from .secret import Secret
from .sources import ConnectionSecretsOnly, RemoteTokens, SecretSource
from .status import Reason, State, Status, StatusBoard, StatusCallback
from .store.base import SecretStore

log = logging.getLogger(__name__)

#: `LoginRequired.error` when nothing was ever held (vs. a refresh token the IdP refused).
NOT_SIGNED_IN = "not_signed_in"

U2M = "u2m"


class _Entry:
    __slots__ = ("host", "refresh_at", "tokens")

    def __init__(self, tokens: TokenSet, host: str, margin: float) -> None:
        self.tokens = tokens
        self.host = host
        self.refresh_at = tokens.refresh_at(margin)


class TokenBroker:
    def __init__(
        self,
        store: SecretStore,
        engine: OAuthEngine,
        *,
        refresh_margin: float = 300.0,
        secrets: SecretSource | None = None,
        remote: RemoteTokens | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._engine = engine
        self.refresh_margin = refresh_margin
        self._secrets: SecretSource = secrets or ConnectionSecretsOnly()
        self._remote = remote  # hub mode: connections whose tokens the hub service holds
        self._clock = clock
        self._cache: dict[str, _Entry] = {}
        self._inflight: dict[str, asyncio.Future[TokenSet]] = {}
        self._board = StatusBoard()
        # A rotated refresh token the store refused to take: kept so the next refresh can still
        # spend it and try to save again, instead of spending the consumed one in the store.
        self._unsaved: dict[str, TokenSet] = {}
        # The status a connection had when a sign-in started, to go back to if it is abandoned.
        self._before_login: dict[str, Status] = {}

    def __repr__(self) -> str:
        return f"<TokenBroker store={self._store!r} connections={sorted(self._cache)}>"

    # -- tokens ----------------------------------------------------------------------------

    def cached_token(self, connection: Connection) -> TokenSet | None:
        """The cached token if still fresh, else None. Sync and lock-free."""
        entry = self._cache.get(connection.name)
        if entry is not None and entry.host == connection.host and self._clock() < entry.refresh_at:
            return entry.tokens
        return None

    async def get_token(
        self,
        connection: Connection,
        *,
        force_refresh: bool = False,
        rejected: Secret | None = None,
    ) -> TokenSet:
        """A usable access token for `connection`.

        `force_refresh=True` skips the freshness check and, for U2M, always rotates using the
        refresh token currently in the store. `rejected=<the access token Databricks refused>`
        (after a 401) is the gentler force: when the cached or stored token is already another,
        fresh one (a refresh by another caller or process), that one is returned, so N kernels
        reporting the same 401 cause one refresh, not N.
        Raises `LoginRequired`, `ClientSecretRejected`, `CredentialsMissing`,
        `TransientOAuthError` or another `DbxAuthError`; the status says the same.
        """
        if not force_refresh:
            entry = self._cache.get(connection.name)
            if (
                entry is not None
                and entry.host == connection.host
                and self._clock() < entry.refresh_at
                and (rejected is None or entry.tokens.access_token != rejected)
            ):
                return entry.tokens
        return await self._single_flight(
            connection, force_refresh or rejected is not None, rejected
        )

    async def _single_flight(
        self, connection: Connection, force: bool, rejected: Secret | None = None
    ) -> TokenSet:
        name = connection.name
        task = self._inflight.get(name)
        if task is None:
            task = asyncio.ensure_future(self._obtain(connection, force, rejected))
            self._inflight[name] = task

            def done(t: asyncio.Future[TokenSet]) -> None:
                if self._inflight.get(name) is t:
                    del self._inflight[name]
                if not t.cancelled():
                    t.exception()  # mark retrieved even if every waiter was cancelled

            task.add_done_callback(done)
        # Shielded: one caller giving up must not cancel the refresh the others wait for.
        return await asyncio.shield(task)

    async def _obtain(
        self, connection: Connection, force: bool, rejected: Secret | None
    ) -> TokenSet:
        name = connection.name
        previous = self._cache.get(name)
        self._board.set(name, Status(State.REFRESHING, warnings=self._warnings(connection)))
        try:
            tokens = await self._fetch(connection, force, rejected)
        except LoginRequired as exc:
            self._cache.pop(name, None)
            self._board.set(name, self._login_required_status(exc))
            raise
        except DbxAuthError as exc:
            warnings = self._warnings(connection)
            if previous is not None and previous.host == connection.host and not force:
                expires = previous.tokens.expires_at
                if expires is not None and self._clock() < expires - 10:
                    # A transient failure within the margin: the current token still works.
                    log.warning(
                        "Refresh of %s failed (%s); using the current token until it expires",
                        name,
                        type(exc).__name__,
                    )
                    self._board.set(name, Status(State.ERROR, exc.message, exc.hint, warnings))
                    return previous.tokens
            self._board.set(name, Status(State.ERROR, exc.message, exc.hint, warnings))
            raise
        self._cache[name] = _Entry(tokens, connection.host, self.refresh_margin)
        self._board.set(name, Status(State.OK, warnings=self._warnings(connection)))
        return tokens

    async def _fetch(
        self, connection: Connection, force: bool, rejected: Secret | None
    ) -> TokenSet:
        if self._remote is not None and self._remote.serves(connection):
            return await self._remote.token(connection, rejected=rejected if force else None)
        method = connection.method
        if method is AuthMethod.USER:
            return await self._refresh_user(connection, force, rejected)
        if method is AuthMethod.SERVICE_PRINCIPAL:
            client_id, secret = await self._secrets.credentials(connection)
            return await self._engine.client_credentials(connection, client_id, secret)
        if method is AuthMethod.WORKLOAD_IDENTITY:
            return await self._engine.token_exchange(connection)
        if method is AuthMethod.PAT:
            if not connection.token:
                raise CredentialsMissing(
                    f"Connection {connection.name} has no personal access token.",
                    hint="Set DATABRICKS_TOKEN or the profile's token, or use OAuth instead.",
                )
            return TokenSet(access_token=connection.token, issued_at=self._clock())
        raise DbxAuthError(f"Unsupported auth method {method!r}.")

    async def _refresh_user(
        self, connection: Connection, force: bool, rejected: Secret | None
    ) -> TokenSet:
        name = connection.name
        async with held_lock(self._store, U2M, name) as held:
            record = await held.run(self._store.get, U2M, name)
            if record is not None and record.get("host") != connection.host:
                record = None  # signed in to another host under this name: not ours to use
            stored = TokenSet.from_record(record) if record else None
            # A refresh token works only with the app it was issued to: a login imported from
            # the Databricks CLI belongs to the CLI's app, whatever this connection uses.
            issued_to = record.get("client_id") if record else None
            if issued_to and issued_to != connection.client_id:
                connection = dataclasses.replace(
                    connection, client_id=issued_to, client_secret=None
                )
            unsaved = self._unsaved.get(name)
            if unsaved is not None and (
                stored is None
                or stored.issued_at is None
                or (unsaved.issued_at or 0) > stored.issued_at
            ):
                stored = unsaved
            if stored is None or stored.refresh_token is None:
                raise LoginRequired(f"Connection {name} is not signed in.", error=NOT_SIGNED_IN)
            fresh = self._clock() < stored.refresh_at(self.refresh_margin)
            if fresh and (not force or (rejected is not None and stored.access_token != rejected)):
                return stored  # another process refreshed while we waited for the lock
            try:
                tokens = await self._engine.refresh(connection, stored.refresh_token)
            except LoginRequired:
                # Under the lock the store's refresh token is authoritative, and it is dead.
                self._unsaved.pop(name, None)
                await held.run(self._store.delete, U2M, name)
                raise
            await self._save_user(held, connection, tokens, client_id=issued_to)
            return tokens

    async def _save_user(
        self,
        held: LockHolder,
        connection: Connection,
        tokens: TokenSet,
        *,
        client_id: str | None = None,
    ) -> None:
        extra = {"client_id": client_id} if client_id else {}
        try:
            await held.run(
                self._store.put,
                U2M,
                connection.name,
                tokens.to_record(host=connection.host, **extra),
            )
        except Exception as exc:
            # Losing a rotated refresh token means a forced sign-in: keep it in memory and say so.
            log.error(
                "Could not save the rotated sign-in of %s (%s); kept in memory only",
                connection.name,
                type(exc).__name__,
            )
            self._unsaved[connection.name] = tokens
        else:
            self._unsaved.pop(connection.name, None)

    # -- U2M login -------------------------------------------------------------------------

    async def begin_login(
        self, connection: Connection, redirect_uri: str
    ) -> tuple[str, PendingLogin]:
        """The authorize URL to open, and the pending login for the caller to keep (bound to
        the user, single-use, with its TTL: `core.service.pending`)."""
        if connection.method is not AuthMethod.USER:
            raise DbxAuthError(f"Connection {connection.name} does not sign in users (U2M).")
        url, pending = await self._engine.begin_login(connection, redirect_uri)
        before = await self.load_status(connection)
        if before.state is not State.LOGIN_PENDING:
            self._before_login[connection.name] = before
        self._board.set(connection.name, Status(State.LOGIN_PENDING))
        return url, pending

    async def abandon_login(
        self, connection: Connection, reason: Reason, message: str | None = None, *, pending: bool
    ) -> Status:
        """A sign-in that will not complete (declined at the IdP, cancelled, its window closed):
        put back the status the connection had before it started, with `reason` and `message`
        saying what happened (a held sign-in stays signed in). `pending`: whether the login-state
        table still held a sign-in of it; with none and no sign-in pending here, nothing changes
        (e.g. the window closed after the sign-in completed: not "cancelled")."""
        name = connection.name
        current = await self.load_status(connection)
        if not pending and current.state is not State.LOGIN_PENDING:
            return current
        before = self._before_login.pop(name, None)
        if before is None or before.state in (State.LOGIN_PENDING, State.REFRESHING):
            before = await asyncio.to_thread(self._initial_status, connection)
        status = dataclasses.replace(before, reason=reason, message=message, hint=None)
        self._board.set(name, status)
        return status

    async def note_waiting(self, connection: Connection) -> None:
        """A notebook asked for this sign-in and waits for it: say so, unless signed in or a
        browser sign-in is already pending (that one is what the notebook waits for)."""
        current = await self.load_status(connection)
        if current.state in (State.OK, State.REFRESHING, State.LOGIN_PENDING):
            return
        self._before_login[connection.name] = current
        self._board.set(connection.name, Status(State.LOGIN_PENDING, reason=Reason.KERNEL_WAITING))

    async def complete_login(
        self, connection: Connection, pending: PendingLogin, code: str
    ) -> TokenSet:
        """Exchange the code with the PKCE verifier of `pending` and store the refresh token.

        `pending` is what the login-state table gave back for the callback's state, already
        checked there (known, unexpired, same user, used once)."""
        name = connection.name
        if pending.connection != name:
            raise OAuthError(
                "The sign-in response belongs to another connection.",
                hint="Start the sign-in again.",
            )
        try:
            tokens = await self._engine.exchange_code(connection, pending, code)
            async with held_lock(self._store, U2M, name) as held:
                await self._save_user(held, connection, tokens)
        except DbxAuthError as exc:
            self._board.set(name, Status(State.ERROR, exc.message, exc.hint))
            raise
        self._cache[name] = _Entry(tokens, connection.host, self.refresh_margin)
        self._before_login.pop(name, None)
        self._board.set(name, Status(State.OK))
        return tokens

    async def logout(self, connection: Connection) -> None:
        """Forget every token of `connection` here and in the store; revoke the refresh token at
        the IdP when it advertises a revocation endpoint (best effort, after forgetting)."""
        name = connection.name
        self._cache.pop(name, None)
        self._unsaved.pop(name, None)
        refresh: Secret | None = None
        if connection.method is AuthMethod.USER and not self._is_remote(connection):
            async with held_lock(self._store, U2M, name) as held:
                record = await held.run(self._store.get, U2M, name)
                await held.run(self._store.delete, U2M, name)
            if record and record.get("refresh_token") and record.get("host") == connection.host:
                refresh = Secret(record["refresh_token"])
        self._before_login.pop(name, None)
        self._board.set(
            name,
            Status(
                State.LOGGED_OUT, warnings=self._warnings(connection), reason=Reason.NOT_SIGNED_IN
            ),
        )
        if refresh is not None:
            try:
                await self._engine.revoke(connection, refresh)
            except DbxAuthError as exc:
                log.warning("Revoking the sign-in of %s failed: %s", name, exc.message)

    # -- service principals ----------------------------------------------------------------

    async def verify_client_secret(
        self, connection: Connection, client_id: str, client_secret: Secret
    ) -> None:
        """One client-credentials call with this secret (`ClientSecretRejected` if refused)."""
        await self._engine.client_credentials(connection, client_id, client_secret)

    def credentials_changed(self, connection: Connection) -> None:
        """An M2M connection's stored secret was added or removed: its cached token and status
        start afresh (from the secret source's memory, no store read)."""
        self._cache.pop(connection.name, None)
        self._board.set(connection.name, self._initial_status(connection))

    def _warnings(self, connection: Connection) -> tuple[str, ...]:
        return self._secrets.warnings(connection)

    def warnings(self, connection: Connection) -> list[str]:
        """Service principal secret warnings (missing, expiring within the warning window)."""
        return list(self._warnings(connection))

    # -- status ----------------------------------------------------------------------------

    def status(self, connection: Connection) -> Status:
        """The current status. For a U2M connection never seen before this reads the store:
        async callers use `load_status` first, which does that read off the event loop."""
        known = self._board.get(connection.name)
        return known if known is not None else self._initial_status(connection)

    async def load_status(self, connection: Connection) -> Status:
        """`status`, with any store read in a worker thread."""
        known = self._board.get(connection.name)
        if known is not None:
            return known
        if connection.method is AuthMethod.USER and not self._is_remote(connection):
            return await asyncio.to_thread(self._initial_status, connection)
        return self._initial_status(connection)

    @staticmethod
    def _login_required_status(exc: LoginRequired) -> Status:
        """Never signed in (or logged out) is "logged out"; only a refused refresh is "expired"."""
        if exc.error == NOT_SIGNED_IN:
            return Status(State.LOGGED_OUT, reason=Reason.NOT_SIGNED_IN)
        return Status(State.LOGIN_REQUIRED, exc.message, exc.hint, reason=Reason.EXPIRED)

    def _is_remote(self, connection: Connection) -> bool:
        return self._remote is not None and self._remote.serves(connection)

    def report(self, connection: Connection, status: Status) -> None:
        """A status heard from where a remote connection's tokens are held (the hub service):
        a connection signed out there drops its cached token here too (an error reaching it
        does not: the token in hand stays good until it expires)."""
        if status.state in (State.LOGGED_OUT, State.LOGIN_REQUIRED):
            self._cache.pop(connection.name, None)
        self._board.set(connection.name, status)

    def _initial_status(self, connection: Connection) -> Status:
        if self._remote is not None and self._remote.serves(connection):
            return self._remote.status(connection)
        if connection.method is AuthMethod.USER:
            record = self._store.get(U2M, connection.name)
            held = bool(
                record and record.get("refresh_token") and record.get("host") == connection.host
            )
            if held:
                return Status(State.OK)
            return Status(State.LOGGED_OUT, reason=Reason.NOT_SIGNED_IN)
        warnings = self._warnings(connection)
        if connection.method is AuthMethod.SERVICE_PRINCIPAL and not self._secrets.has_secret(
            connection
        ):
            return Status(State.LOGGED_OUT, warnings=warnings)
        return Status(State.OK, warnings=warnings)

    def subscribe(self, callback: StatusCallback) -> Callable[[], None]:
        """Call `callback(name, status)` on every status change; returns an unsubscribe."""
        return self._board.subscribe(callback)

    def forget(self, connection: Connection) -> None:
        """Drop the in-memory token only (e.g. the connection's definition changed)."""
        self._cache.pop(connection.name, None)
