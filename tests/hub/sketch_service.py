"""TEST scaffolding: the `dbx-auth` service with the real handlers (`jupyter_dbx_auth.hub.handlers`)
over a stand-in for the AuthService adapter, run by the test hub as a managed service.

The stand-in (`BrokerBackedService`) implements `HubAuthService` with core's `TokenBroker`, one per
hub user on that user's `HubStore` view, so the callback path runs real OAuth against the
emulator. It is NOT the production adapter (that wraps `core.service.AuthService`); it exists so
the handlers can be tested before that adapter is written.

Environment (set by the test through the service's `environment`): JDA_EMULATOR_URL,
JDA_HUB_APP_CLIENT_ID, JDA_HUB_DB_URL, JUPYTER_DBX_AUTH_CRYPT_KEY, plus the hub's JUPYTERHUB_*.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import Any
from urllib.parse import urlparse

import httpx

from jupyter_dbx_auth.core.broker import TokenBroker
from jupyter_dbx_auth.core.connections import AuthMethod, Connection
from jupyter_dbx_auth.core.errors import DbxAuthError
from jupyter_dbx_auth.core.oauth.engine import OAuthEngine
from jupyter_dbx_auth.hub.handlers import make_app
from jupyter_dbx_auth.hub.protocol import AccessToken, HubUser
from jupyter_dbx_auth.hub.store import HubStore


class BrokerBackedService:
    def __init__(self, db: HubStore, connections: dict[str, Connection]) -> None:
        self.db = db
        self.connections = connections
        self.engine = OAuthEngine(http=httpx.AsyncClient(timeout=30))
        self._brokers: dict[str, TokenBroker] = {}
        self._next: dict[str, str | None] = {}

    def _broker(self, user: str) -> TokenBroker:
        if user not in self._brokers:
            self._brokers[user] = TokenBroker(self.db.for_user(user), self.engine)
        return self._brokers[user]

    def _conn(self, name: str) -> Connection:
        try:
            return self.connections[name]
        except KeyError:
            raise DbxAuthError(
                f"There is no connection {name!r} on this hub.",
                hint=f"Use one of: {', '.join(sorted(self.connections))}.",
            ) from None

    async def begin_login(
        self, user: HubUser, connection: str, *, redirect_uri: str, next_url: str | None
    ) -> str:
        url, pending = await self._broker(user.name).begin_login(
            self._conn(connection), redirect_uri
        )
        self._next[pending.state] = next_url
        return url

    async def complete_login(
        self, user: HubUser, *, state: str | None, code: str
    ) -> tuple[str, str | None]:
        broker = self._broker(user.name)
        pending = broker.find_pending(state or "")
        if pending is None:  # another user's state, a reused one, or none at all
            raise DbxAuthError(
                "The sign-in response did not match a sign-in you started.",
                hint="Start the sign-in again from your own browser.",
            )
        conn = self._conn(pending.connection)
        await broker.complete_login(conn, pending, code, state or "")
        return conn.name, self._next.pop(pending.state, None)

    def cancel_login(self, user: HubUser, *, state: str | None) -> None:
        self._next.pop(state or "", None)

    async def status(self, user: HubUser) -> dict[str, Any]:
        broker = self._broker(user.name)
        return {
            "user": user.name,
            "groups": sorted(user.groups),
            "connections": {
                name: broker.status(conn).to_dict() for name, conn in self.connections.items()
            },
        }

    async def token(
        self, user: HubUser, connection: str, *, rejected: str | None = None
    ) -> AccessToken:
        tokens = await self._broker(user.name).get_token(self._conn(connection))
        return AccessToken(tokens.access_token, tokens.expires_at, tokens.token_type)

    async def overview(self) -> dict[str, Any]:
        return {
            "sign_ins": [
                {"user": r["owner"], "connection": r["key"], "since": r["created"]}
                for r in self.db.listing("user")
                if r["namespace"] == "u2m"
            ]
        }

    async def revoke(self, user_name: str, connection: str) -> bool:
        existed = self.db.for_user(user_name).get("u2m", connection) is not None
        await self._broker(user_name).logout(self._conn(connection))
        return existed


async def main() -> None:
    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    public = os.environ["JDA_HUB_PUBLIC_URL"]
    bind = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    emulator = Connection(
        name="emu",
        host=os.environ["JDA_EMULATOR_URL"],
        method=AuthMethod.USER,
        client_id=os.environ["JDA_HUB_APP_CLIENT_ID"],
    )
    service = BrokerBackedService(HubStore(os.environ["JDA_HUB_DB_URL"]), {"emu": emulator})
    app = make_app(
        service,
        prefix=prefix,
        callback_url=f"{public.rstrip('/')}{prefix}callback",
        cookie_secret=secrets.token_bytes(32),
    )
    app.listen(bind.port or 80, bind.hostname or "127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
