"""Who each connection is signed in as: SCIM `Me` read with a fresh access token.

Kept in memory only (a name, never a token). Reads in flight are tracked, so that a listing made
while a sign-in is finishing can wait for the identity instead of showing "ok" without it: the
broker reports a connection ok as soon as the code is exchanged, before SCIM `Me` answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx

from ..connections import Connection
from ..oauth.tokens import TokenSet

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Longest identity kept (user names, display names and application ids are far shorter).
MAX_IDENTITY_LENGTH = 200


def scim_me_url(host: str, *, account: bool = False, account_id: str | None = None) -> str:
    """SCIM `Me` of a workspace, or of an account console (`account`)."""
    if account:
        return f"{host}/api/2.0/accounts/{account_id}/scim/v2/Me"
    return f"{host}/api/2.0/preview/scim/v2/Me"


def identity_from_scim(body: Any) -> str | None:
    """Who a SCIM `Me` answer names: the user name, or a service principal by name and id."""
    if not isinstance(body, dict):
        return None
    app = body.get("applicationId")
    name = body.get("displayName")
    if isinstance(app, str) and app:
        # A service principal: its display name says more than its application id.
        who = f"service principal {name} ({app})" if name else f"service principal {app}"
        return who[:MAX_IDENTITY_LENGTH]
    who = body.get("userName") or name
    return str(who)[:MAX_IDENTITY_LENGTH] if who else None


class Identities:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self._known: dict[str, str] = {}
        self._reads: dict[str, asyncio.Future[Any]] = {}

    def get(self, name: str) -> str | None:
        return self._known.get(name)

    def forget(self, name: str) -> None:
        self._known.pop(name, None)

    def known_or_reading(self, name: str) -> bool:
        return name in self._known or name in self._reads

    async def read(self, conn: Connection, tokens: TokenSet) -> None:
        """Learn `conn`'s identity from SCIM `Me`; failures are logged and leave it unknown."""
        if conn.account and not conn.account_id:
            return  # no account SCIM without the account id; the sidebar shows the host
        try:
            response = await self.http.get(
                scim_me_url(conn.host, account=conn.account, account_id=conn.account_id),
                headers={"Authorization": f"Bearer {tokens.access_token.reveal()}"},
                timeout=10,
            )
            if response.status_code != 200:
                log.info("Reading the identity of %s: HTTP %s", conn.name, response.status_code)
                return
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.info("Reading the identity of %s failed (%s)", conn.name, type(exc).__name__)
            return
        who = identity_from_scim(body)
        if who:
            self._known[conn.name] = who

    def track(self, name: str, work: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        """Run `work` (which ends by reading `name`'s identity) as a read in flight.

        Registered synchronously, before the caller yields, so that a `settle()` right after
        sees it.
        """
        task = asyncio.ensure_future(work)
        self._reads[name] = task

        def done(finished: asyncio.Future[T]) -> None:
            if self._reads.get(name) is finished:
                del self._reads[name]

        task.add_done_callback(done)
        return task

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait (bounded) for the reads in flight."""
        reads = list(self._reads.values())
        if reads:
            await asyncio.wait(reads, timeout=timeout)

    def cancel(self) -> None:
        for task in list(self._reads.values()):
            task.cancel()
