"""`HubTokenService`: the hub's `HubAuthService`, one `core.service.AuthService` per hub user and
one per hub group, nothing else.

- A hub user's AuthService runs on that user's `HubStore.for_user(name)` view, with the hub's
  connections and the OAuth app whose one redirect URL is the service's callback. It holds that
  user's sign-ins in progress, token cache and single-flight refreshes: a state started by alice is
  in alice's table only, so bob's browser replaying her callback finds nothing to complete (and
  burns nothing of hers); two of alice's servers asking at expiry cause one refresh, while bob's
  refresh never waits for hers. Built on first use, so a hub of 1,000 users costs memory only for
  those who use it, and forgotten again after `user_idle` seconds unused.
- A hub group's AuthService runs on `for_group(name)` and holds the admin's service principals for
  that group (`group_service_principals`, secrets read by this process from its environment or
  files, `load_group_service_principals`). A member asks for one as `<connection>@<group>`; anyone
  else is told it does not exist for them.
No OAuth, store or token logic lives here: it is all `AuthService`'s.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from ..core.errors import ConfigError
from ..core.secret import Secret
from ..core.service import AuthService, NotFound, OAuthApp, ServiceSettings
from .protocol import AccessToken, HubUser
from .store import HubStore

log = logging.getLogger(__name__)

#: Separates a connection from a group in the name of a group's service principal.
GROUP_MARK = "@"
#: The `user` AuthService methods record (audit) for what the admin's configuration did.
CONFIG_ACTOR = "hub-config"


def group_sp_name(connection: str, group: str) -> str:
    return f"{connection}{GROUP_MARK}{group}"


def read_group_secret(group: str, sp: Mapping[str, Any]) -> Secret:
    """A group service principal's secret, from this process's environment or a file of its own."""
    where = f"group_service_principals[{group!r}] ({sp.get('client_id')})"
    if sp.get("client_secret_env"):
        value = os.environ.get(sp["client_secret_env"], "")
        source = f"environment variable {sp['client_secret_env']}"
    else:
        try:
            value = Path(sp["client_secret_file"]).read_text().strip()
        except (OSError, KeyError, TypeError):
            value = ""
        source = f"file {sp.get('client_secret_file')}"
    if not value:
        raise ConfigError(
            f"{where}: the {source} is empty or unreadable.",
            hint="Give the service that variable (the hub's service `environment`) or file.",
        )
    return Secret(value)


def expiry_epoch(date: Any) -> float | None:
    """'YYYY-MM-DD' -> the end of that day (UTC), as epoch seconds."""
    if not date:
        return None
    day = datetime.date.fromisoformat(str(date)[:10])
    end = datetime.datetime.combine(day, datetime.time.max, tzinfo=datetime.UTC)
    return end.timestamp()


class HubTokenService:
    """Implements `protocol.HubAuthService` over one `AuthService` per hub user and group."""

    def __init__(
        self,
        db: HubStore,
        *,
        connections: Mapping[str, Mapping[str, Any]],
        app: OAuthApp,
        settings: ServiceSettings | None = None,
        http: httpx.AsyncClient | None = None,
        user_idle: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.connections = {name: dict(values) for name, values in connections.items()}
        self.app = app
        self.settings = settings or ServiceSettings()
        self.http = http or httpx.AsyncClient(timeout=30.0)
        self._users: dict[str, AuthService] = {}
        self.user_idle = user_idle
        self._clock = clock
        self._used: dict[str, float] = {}  # user -> when their AuthService was last asked for
        self._next_sweep = 0.0
        self._closing: set[asyncio.Future[None]] = set()
        self._groups: dict[str, AuthService] = {}
        #: group -> {connection: client id}, from the configuration.
        self.group_sps: dict[str, dict[str, str]] = {}

    def _service(self, store: Any) -> AuthService:
        service = AuthService(
            store=store,
            http=self.http,
            explicit=self.connections,
            # The hub's connections only: not the service account's ~/.databrickscfg, and not its
            # environment (which holds the group principals' secrets, not users' credentials).
            include_profiles=False,
            env={},
            app=self.app,
            settings=self.settings,
        )
        service.reload()
        return service

    def user_service(self, name: str) -> AuthService:
        now = self._clock()
        if now >= self._next_sweep:
            self._forget_idle_users(now)
        service = self._users.get(name)
        if service is None:
            service = self._users[name] = self._service(self.db.for_user(name))
        self._used[name] = now
        return service

    def _forget_idle_users(self, now: float) -> None:
        """Drop the AuthService of users idle for `user_idle` seconds with no sign-in under way,
        so that the service's memory follows the hub's active users, not every user it ever
        served. Only memory goes: their next request reads their sign-ins from the store again
        (one refresh for a token that was cached, the identity learned again)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # closing a service needs the loop: sweep next time
            return
        self._next_sweep = now + min(60.0, self.user_idle / 4)
        for name, used in list(self._used.items()):  # `_used` and `_users` share their keys
            service = self._users[name]
            if now - used < self.user_idle or service.pending.in_progress():
                continue
            del self._used[name], self._users[name]
            closing = asyncio.ensure_future(service.aclose())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    def group_service(self, name: str) -> AuthService:
        service = self._groups.get(name)
        if service is None:
            service = self._groups[name] = self._service(self.db.for_group(name))
        return service

    # -- group service principals ----------------------------------------------------------

    async def load_group_service_principals(
        self, config: Mapping[str, list[Mapping[str, Any]]]
    ) -> None:
        """Store each configured principal's secret in its group's records (encrypted), and drop
        principals the configuration no longer lists. Secrets are not checked with the IdP here
        (an IdP outage must not stop the service); a refused secret shows on first use."""
        self.group_sps = {}
        for group, entries in config.items():
            service = self.group_service(group)
            await service.ready()
            wanted: dict[str, str] = {}
            for sp in entries:
                conn = service.get(sp["connection"])
                await service.add_service_principal(
                    conn,
                    client_id=sp["client_id"],
                    client_secret=read_group_secret(group, sp),
                    expires_at=expiry_epoch(sp.get("expires")),
                    label=f"group {group}",
                    user=CONFIG_ACTOR,
                    verify=False,
                )
                wanted[conn.name] = sp["client_id"]
            await self._drop_stale(service, wanted)
            self.group_sps[group] = wanted
        for group in await asyncio.to_thread(self.db.owners, "group"):
            if group not in config:
                await self._drop_stale(self.group_service(group), {})

    async def _drop_stale(self, service: AuthService, wanted: Mapping[str, str]) -> None:
        for sp in await service.list_service_principals(None):
            if wanted.get(sp["connection"]) != sp["client_id"]:
                conn = service.get(sp["connection"])
                await service.remove_service_principal(conn, sp["client_id"], user=CONFIG_ACTOR)

    def _group_sp(self, user: HubUser, name: str) -> tuple[AuthService, Any]:
        connection, _, group = name.partition(GROUP_MARK)
        client_id = self.group_sps.get(group, {}).get(connection)
        # The same answer whether the group, its principal or the membership is missing: a
        # non-member learns nothing about other groups' principals.
        if group not in user.groups or client_id is None:
            raise NotFound(
                f"No service principal {name!r} is available to you.",
                hint="Group service principals are for members of that group; ask a hub admin.",
            )
        service = self.group_service(group)
        return service, service.sp_connection(service.get(connection), client_id)

    # -- HubAuthService --------------------------------------------------------------------

    async def begin_login(
        self, user: HubUser, connection: str, *, redirect_uri: str, next_url: str | None
    ) -> str:
        service = self.user_service(user.name)
        return await service.begin_login(
            service.get(connection), user=user.name, redirect_uri=redirect_uri, next_url=next_url
        )

    async def complete_login(
        self, user: HubUser, *, state: str | None, code: str
    ) -> tuple[str, str | None]:
        return await self.user_service(user.name).complete_login(
            user=user.name, state=state, code=code
        )

    async def decline_login(self, user: HubUser, *, state: str | None, error: str) -> None:
        await self.user_service(user.name).decline_login(user=user.name, state=state, error=error)

    async def status(self, user: HubUser) -> dict[str, Any]:
        service = self.user_service(user.name)
        listing = await service.list_connections()
        for entry in listing["connections"]:
            if entry["status"] == "ok" and entry["identity"] is None:
                service.learn_identity_soon(service.get(entry["name"]))  # after a restart
        principals = []
        for group in sorted(user.groups & set(self.group_sps)):
            group_service = self.group_service(group)
            await group_service.ready()
            for connection in sorted(self.group_sps[group]):
                name = group_sp_name(connection, group)
                _, conn = self._group_sp(user, name)
                entry = await group_service.connection_status(conn)
                principals.append({**entry, "name": name, "connection": connection, "group": group})
        return {
            "user": user.name,
            "groups": sorted(user.groups),
            "connections": listing["connections"] + principals,
            "problems": listing["problems"],
        }

    async def token(
        self, user: HubUser, connection: str, *, rejected: str | None = None
    ) -> AccessToken:
        if GROUP_MARK in connection:
            service, conn = self._group_sp(user, connection)
        else:
            service = self.user_service(user.name)
            conn = service.get(connection)
        tokens = await service.token(conn, rejected=rejected)
        return AccessToken(tokens.access_token, tokens.expires_at, tokens.token_type)

    async def sign_out(self, user: HubUser, connection: str) -> dict[str, Any]:
        service = self.user_service(user.name)
        return await service.logout(service.get(connection), user=user.name)

    async def overview(self) -> dict[str, Any]:
        rows = await asyncio.to_thread(self.db.listing, "user")
        sign_ins = [
            {
                "user": r["owner"],
                "connection": r["key"],
                "since": r["created"],
                "updated": r["updated"],
            }
            for r in rows
            if r["namespace"] == "u2m"
        ]
        principals = []
        for group in sorted(self.group_sps):
            for sp in await self.group_service(group).list_service_principals(None):
                principals.append(
                    {"group": group, **sp, "name": group_sp_name(sp["connection"], group)}
                )
        return {"sign_ins": sign_ins, "group_service_principals": principals}

    async def revoke(self, user_name: str, connection: str) -> bool:
        service = self.user_service(user_name)
        conn = service.get(connection)
        # Names only: whether a sign-in exists is read without decrypting it.
        existed = conn.name in await asyncio.to_thread(self.db.keys, "user", user_name, "u2m")
        await service.logout(conn, user=f"hub admin (for {user_name})")
        return existed

    async def aclose(self) -> None:
        for service in [*self._users.values(), *self._groups.values()]:
            await service.aclose()
        await asyncio.gather(*self._closing, return_exceptions=True)
        await self.http.aclose()

    def __repr__(self) -> str:
        return f"<HubTokenService users={len(self._users)} groups={sorted(self._groups)}>"
