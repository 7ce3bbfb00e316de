"""Hub mode: a single-user server's connections held by the hub token service.

In a hub-spawned server with the service configured (`core.hub_client.HubEndpoint`), the
connections the service lists for this user (their sign-ins, their groups' service principals
`<connection>@<group>`) are offered beside the server's own (`~/.databrickscfg`, config):
- **listing and status**: read from the service's `api/status` (on every listing, at start-up,
  and every `poll_interval` seconds while a sign-in is pending), fed to the broker's status board
  like any status, so the events stream, the sidebar and the picker see them unchanged;
- **tokens**: `HubMode` is the broker's `RemoteTokens` source: the broker caches what the service
  hands out by `expires_at` (single flight, refresh margin) and a kernel's 401 is passed on as
  `rejected=<fingerprint>`;
- **sign-in** happens at the service, in the person's browser (`login_url`); its `next` page on
  this server (`signed_in`) ends the wait at once, the polling ends it otherwise;
- **sign-out** asks the service (`DELETE api/sign-ins/<name>`).
Nothing of the hub's is stored here: no refresh token or secret ever reaches this server.
A hub connection wins over a local one of the same name (the local one is hidden, with a warning
on the hub's). An unreachable service shows as each hub connection's `error` status and as a
`problems` entry, and heals at the next successful read.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..connections import AuthMethod, Connection
from ..errors import BadRequest, DbxAuthError, LoginRequired
from ..hub_client import HUB_SOURCE, HubServiceClient
from ..oauth.tokens import TokenSet, fingerprint
from ..secret import Secret
from ..status import Reason, State, Status

if TYPE_CHECKING:
    from .service import AuthService

log = logging.getLogger(__name__)

#: `LoginRequired.error` for "never signed in" (the broker's `NOT_SIGNED_IN`).
_NOT_SIGNED_IN = "not_signed_in"
#: How a hub sign-in ends, in the status' `sign_in` (the sidebar's "callback": a page comes back).
HUB_SIGN_IN = {
    "finish": "callback",
    "paste_prefix": None,
    "message": "Sign in at the hub in the window that opened; it comes back here by itself.",
}


def _connection(entry: dict[str, Any]) -> Connection | None:
    """A service's status entry as a connection of this server (None if malformed)."""
    try:
        return Connection(
            name=str(entry["name"]),
            host=str(entry["host"]),
            method=AuthMethod(entry["method"]),
            account_id=entry.get("account_id"),
            account=bool(entry.get("account")),
            client_id=entry.get("client_id"),
            scopes=tuple(entry.get("scopes") or ()) or ("all-apis",),
            source=HUB_SOURCE,
        )
    except (KeyError, TypeError, ValueError):
        return None


def _status(entry: dict[str, Any]) -> Status:
    """The service's view of one connection as a `Status`."""
    try:
        state = State(entry.get("status"))
    except ValueError:
        state = State.ERROR
    try:
        reason = Reason(entry["reason"]) if entry.get("reason") else None
    except ValueError:
        reason = None
    return Status(
        state,
        entry.get("message") if isinstance(entry.get("message"), str) else None,
        entry.get("hint") if isinstance(entry.get("hint"), str) else None,
        tuple(w for w in entry.get("warnings") or () if isinstance(w, str)),
        reason,
    )


@dataclasses.dataclass
class _Pending:
    deadline: float
    before: tuple[Any, ...]  # the entry's (status, identity) when it started
    status: Status  # the status to put back if it is given up


def _snapshot(entry: dict[str, Any] | None) -> tuple[Any, ...]:
    """What a sign-in at the hub changes. Not the expiry (the service refreshes by itself): a
    sign-in again as the same identity is seen by its `next` page (`signed_in`), not here."""
    entry = entry or {}
    return entry.get("status"), entry.get("identity")


class HubMode:
    """The hub service's connections for one `AuthService` (its `RemoteTokens` source)."""

    def __init__(
        self,
        client: HubServiceClient,
        *,
        login_ttl: float,
        poll_interval: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.login_ttl = login_ttl
        self.poll_interval = poll_interval
        self._clock = clock
        self._entries: dict[str, dict[str, Any]] = {}
        self._conns: dict[str, Connection] = {}  # the same, as connections of this server
        self.problem: DbxAuthError | None = None  # the last failure to read the status
        self._read_once = False
        self._pending: dict[str, _Pending] = {}
        # Sign-ins given up here (Cancel, window closed) that the service still holds as
        # started until its own timeout: shown as given up, not as pending again.
        self._given_up: dict[str, Status] = {}
        self._seen: dict[str, tuple[Any, ...]] = {}  # what was last published, beside the status
        self._poller: asyncio.Task[None] | None = None
        self._service: AuthService | None = None

    def attach(self, service: AuthService) -> None:
        self._service = service

    @property
    def service(self) -> AuthService:
        assert self._service is not None, "HubMode.attach(service) first"
        return self._service

    def __repr__(self) -> str:
        return f"<HubMode {self.client!r} connections={sorted(self._entries)}>"

    # -- RemoteTokens ----------------------------------------------------------------------

    def serves(self, connection: Connection) -> bool:
        return connection.source == HUB_SOURCE

    async def token(self, connection: Connection, *, rejected: Secret | None) -> TokenSet:
        try:
            return await self.client.token(
                connection.name, rejected=fingerprint(rejected) if rejected else None
            )
        except LoginRequired as exc:
            with contextlib.suppress(DbxAuthError):
                await self.refresh()  # signed out, or never signed in? the service knows
            entry = self._entries.get(connection.name) or {}
            if entry.get("status") in (None, State.LOGGED_OUT.value):
                exc.error = _NOT_SIGNED_IN
            raise

    def status(self, connection: Connection) -> Status:
        if connection.name in self._pending:
            return Status(State.LOGIN_PENDING)
        if self.problem is not None and connection.name in self._entries:
            return Status(State.ERROR, self.problem.message, self.problem.hint)
        entry = self._entries.get(connection.name)
        if entry is None:
            return Status(State.LOGGED_OUT, reason=Reason.NOT_SIGNED_IN)
        return self._shown(connection.name, entry)

    def _shown(self, name: str, entry: dict[str, Any]) -> Status:
        """The service's status of `name`, except a sign-in this server gave up (which the
        service keeps as started until it expires there): that one stays given up."""
        status = _status(entry)
        if status.state is State.LOGIN_PENDING and name in self._given_up:
            return self._given_up[name]
        self._given_up.pop(name, None)  # the service moved on (signed in, out, an error)
        return status

    # -- the service's status --------------------------------------------------------------

    async def ready(self) -> None:
        """Read the service's connections once (start-up); a failure is kept as `problem`."""
        if not self._read_once:
            with contextlib.suppress(DbxAuthError):
                await self.refresh()

    async def refresh(self) -> None:
        """Read the service's status and publish what changed. Raises what the read raised
        (after showing it on every hub connection)."""
        try:
            listing = await self.client.status()
        except DbxAuthError as exc:
            self.problem = exc
            self.service.connections.set_remote(self._conns, problem=exc)
            for name, conn in self._conns.items():
                if name not in self._pending:
                    self.service.broker.report(conn, Status(State.ERROR, exc.message, exc.hint))
            self._start_polling()
            raise
        self._read_once = True
        self.problem = None
        entries, conns = {}, {}
        for raw in listing["connections"]:
            conn = _connection(raw) if isinstance(raw, dict) else None
            if conn is not None:
                entries[conn.name], conns[conn.name] = raw, conn
        gone = [conn for name, conn in self._conns.items() if name not in conns]
        self._entries, self._conns = entries, conns
        self.service.connections.set_remote(conns)
        for conn in gone:
            self._pending.pop(conn.name, None)
            self.service.broker.forget(conn)
        for name, entry in entries.items():
            self._update(name, entry)

    def _update(self, name: str, entry: dict[str, Any]) -> None:
        conn = self._conns[name]
        pending = self._pending.get(name)
        if pending is not None:
            done = entry.get("status") == State.OK.value and _snapshot(entry) != pending.before
            expired = self._clock() > pending.deadline
            if not (done or expired):
                return
            del self._pending[name]
            if expired and not done:
                gave_up = dataclasses.replace(
                    _status(entry),
                    reason=Reason.CANCELLED,
                    message="The sign-in at the hub did not finish in time.",
                )
                self.service.broker.report(conn, gave_up)
                return
        status = self._shown(name, entry)
        before = self.service.broker.status(conn)  # from memory for a hub connection
        self.service.broker.report(conn, status)  # a changed status is published from there
        seen = (entry.get("identity"), entry.get("credentials"), entry.get("host"))
        if before == status and self._seen.get(name, seen) != seen:
            # The identity can change under an unchanged status (signed in again as another).
            self.service.events.publish({"type": "status", **self.render(conn, status)})
        self._seen[name] = seen

    async def refresh_quietly(self) -> None:
        """`refresh`; a failure is kept (`problem`, the connections' error status)."""
        with contextlib.suppress(DbxAuthError):
            await self.refresh()

    def connections(self) -> dict[str, Connection]:
        return dict(self._conns)

    def problems(self) -> list[dict[str, Any]]:
        if self.problem is None:
            return []
        return [
            {
                "name": f"hub:{self.client.name}",
                "message": self.problem.message,
                "hint": self.problem.hint,
            }
        ]

    def render(self, conn: Connection, status: Status, cached: TokenSet | None = None) -> dict:
        """A hub connection's entry in `api/connections` and status events."""
        entry = self._entries.get(conn.name) or {}
        warnings = list(status.warnings)
        if self.service.connections.shadowed(conn.name):
            warnings.append(
                f"A connection of your own named {conn.name} (e.g. a ~/.databrickscfg profile) "
                "is hidden by the hub's connection of that name: rename yours to use it here."
            )
        signed_in = status.state in (State.OK, State.REFRESHING, State.ERROR)
        return {
            **conn.public_dict(),
            **status.to_dict(),
            "status": status.state.value,
            "warnings": warnings,
            "identity": entry.get("identity") if signed_in else None,
            "expires_at": cached.expires_at if cached else entry.get("expires_at"),
            "sign_in": dict(HUB_SIGN_IN) if status.state is State.LOGIN_PENDING else None,
            "credentials": entry.get("credentials"),
            "hub": self.client.name,
            "group": entry.get("group"),
        }

    # -- sign-in, sign-out ------------------------------------------------------------------

    async def begin(self, conn: Connection, *, next_url: str) -> str:
        """Wait for a sign-in at the service (polling its status); the page to open there."""
        if conn.method is not AuthMethod.USER:
            raise BadRequest(
                f"{conn.name} is a service principal the hub holds for your group: there is "
                "nothing to sign in to.",
                hint="Use it as it is; ask a hub admin if its status shows an error.",
            )
        await self.wait_for_sign_in(conn)
        return self.client.endpoint.login_path(conn.name, next_url)

    async def login_reply(
        self, conn: Connection, *, next_url: str, login_url: str, kernel: bool
    ) -> dict[str, Any]:
        """`POST api/connections/{name}/login` for a hub connection: the service's page for a
        browser (`authorize_url`); for a kernel only `login_url`, this server's sign-in link
        (which sends the browser on to the service)."""
        if kernel:
            if conn.method is AuthMethod.USER:
                await self.wait_for_sign_in(conn)
            reply = {"authorize_url": None, "login_url": login_url, "expires_at": None}
            return {**reply, **HUB_SIGN_IN}
        url = await self.begin(conn, next_url=next_url)
        expires = time.time() + self.login_ttl
        return {"authorize_url": url, "login_url": url, "expires_at": expires, **HUB_SIGN_IN}

    async def wait_for_sign_in(self, conn: Connection) -> None:
        """Show the sign-in as pending and poll the service until it ends (or its TTL)."""
        self._given_up.pop(conn.name, None)  # a new sign-in: the service's "pending" is it
        if conn.name not in self._pending:
            before = await self.service.broker.load_status(conn)
            self._pending[conn.name] = _Pending(
                deadline=self._clock() + self.login_ttl,
                before=_snapshot(self._entries.get(conn.name)),
                status=before,
            )
        else:
            self._pending[conn.name].deadline = self._clock() + self.login_ttl
        self.service.broker.report(conn, Status(State.LOGIN_PENDING))
        self._start_polling()

    def _start_polling(self) -> None:
        if self._poller is None or self._poller.done():
            self._poller = asyncio.ensure_future(self._poll())

    async def _poll(self) -> None:
        """While a sign-in is pending, or the service could not be read (so that hub
        connections, and kernels' tokens, heal by themselves when it is back)."""
        while self._pending or self.problem is not None:
            await asyncio.sleep(self.poll_interval)
            try:
                await self.refresh()
            except DbxAuthError as exc:  # shown on the connections; keep waiting (bounded)
                log.info("Reading the hub service's status failed: %s", exc.message)
                for name in [n for n, p in self._pending.items() if self._clock() > p.deadline]:
                    self._end(name, Reason.CANCELLED, "The sign-in at the hub did not finish.")

    def _end(self, name: str, reason: Reason, message: str | None = None) -> Status | None:
        pending = self._pending.pop(name, None)
        conn = self.connections().get(name)
        if pending is None or conn is None:
            return None
        status = dataclasses.replace(pending.status, reason=reason, message=message, hint=None)
        self._given_up[name] = status
        self.service.broker.report(conn, status)
        return status

    async def signed_in(self, conn: Connection) -> None:
        """The service sent the browser back (`next`): the sign-in completed; read it now."""
        self._pending.pop(conn.name, None)
        with contextlib.suppress(DbxAuthError):
            await self.refresh()

    def cancel(self, conn: Connection) -> Status:
        """Stop waiting (Cancel, the window closed): the status from before, "cancelled"."""
        ended = self._end(conn.name, Reason.CANCELLED)
        return ended or self.status(conn)

    async def logout(self, conn: Connection) -> None:
        """Sign out at the service (it revokes the sign-in at Databricks)."""
        if conn.method is not AuthMethod.USER:
            raise BadRequest(
                f"{conn.name} is your group's service principal at the hub: there is nothing "
                "to sign out of.",
                hint="A hub admin manages group service principals.",
            )
        self._pending.pop(conn.name, None)
        entry = await self.client.sign_out(conn.name)
        self.service.broker.forget(conn)
        if _connection(entry) is not None:
            self._entries[conn.name] = entry
        self._update(conn.name, self._entries.get(conn.name) or entry)

    def refuse(self, conn: Connection, what: str) -> None:
        """`what` (paste, CLI import, a stored principal) is not for a hub connection."""
        if self.serves(conn):
            raise BadRequest(
                f"{conn.name} is a connection of the hub ({self.client.name}): {what} is not "
                "available here, because sign-in for this connection happens at the hub.",
                hint="Press Log in in the Databricks sidebar (or run %dbx_connect) and sign in "
                "in the window that opens; service principals are set up by a hub admin.",
            )

    async def aclose(self) -> None:
        self._pending.clear()
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._poller
