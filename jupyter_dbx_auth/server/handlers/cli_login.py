"""`api/connections/{name}/cli-login`: use an existing `databricks auth login` for a connection.

`GET` says whether the Databricks CLI holds a login for the connection's host (or profile), in
`~/.databricks/token-cache.json` or the `databricks-cli` keyring entry: never a token, only where
it is. `POST {"overwrite": false}` copies its refresh token into our store (`core.cli_import`),
then gets a first token with it right away, which proves it works and reads the identity.

Auth: Jupyter (writes with XSRF) or the kernel key (`%dbx_login NAME --from-cli`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...core.cli_import import find_cli_login, import_cli_login
from ...core.connections import AuthMethod, Connection
from .base import ApiError, DbxAuthAPIHandler

#: Said with every answer: a refresh makes the CLI's copy useless when tokens are single-use.
NOTE = (
    "Jupyter now refreshes this sign-in itself. Where Databricks issues single-use refresh "
    "tokens, Jupyter's first refresh invalidates the CLI's copy: run `databricks auth login` "
    "again before using the CLI for this workspace."
)


def _where(conn: Connection) -> dict[str, Any]:
    profile = conn.source.split(":", 1)[1] if conn.source.startswith("profile:") else None
    return {"profile": profile, "host": conn.host, "account_id": conn.account_id}


class CliLoginHandler(DbxAuthAPIHandler):
    def _user_connection(self, name: str) -> Connection:
        conn = self.service.get(name)
        self.service.refuse_on_hub(conn, "importing a Databricks CLI sign-in")
        if conn.method is not AuthMethod.USER:
            raise ApiError(
                400,
                f"Connection {conn.name} signs in with {conn.method.value}, not as a user.",
                "A Databricks CLI sign-in can only be used for a user (U2M) connection.",
            )
        return conn

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        conn = self._user_connection(name)
        login = await asyncio.to_thread(find_cli_login, **_where(conn))
        self.write_json(
            {
                "connection": conn.name,
                "available": login is not None,
                "source": f"{login.source} ({login.cache_key})" if login else None,
                "note": NOTE,
            }
        )

    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        conn = self._user_connection(name)
        overwrite = self.json_body().get("overwrite", False)
        if not isinstance(overwrite, bool):
            raise ApiError(400, "`overwrite` must be true or false.", 'Send {"overwrite": true}.')
        service = self.service
        result = await asyncio.to_thread(
            import_cli_login,
            service.store,
            conn.name,
            **_where(conn),
            overwrite=overwrite,
            audit=service.audit,
        )
        if not result.imported:
            already = result.reason.startswith("already")
            raise ApiError(
                409 if already else 404,
                f"Nothing imported for {conn.name}: {result.reason}.",
                'Send {"overwrite": true} to replace the current sign-in.'
                if already
                else f"Run `databricks auth login --host {conn.host}` first, or sign in here.",
            )
        service.broker.forget(conn)  # the next token comes from the imported refresh token
        service.identities.forget(conn.name)
        await service.token(conn)  # refreshes now (a failure is a 4xx with what to do)
        status = await service.connection_status(conn)  # any store read off the event loop
        service.events.publish({"type": "status", **status})
        self.write_json({**status, "imported_from": result.reason, "note": NOTE})
