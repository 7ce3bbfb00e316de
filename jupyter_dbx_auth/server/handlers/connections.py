"""`api/connections`: list with status, start a login, cancel it, log out.

Auth: listing, login, cancel and logout accept Jupyter auth (writes with XSRF) or the kernel key.
A login started by a browser returns the IdP's `authorize_url`, bound to that Jupyter user (in hub
mode, for a hub connection: the hub service's sign-in page); a login started by a kernel returns
only `login_url`, a same-origin page that starts the login bound to
whichever Jupyter user opens it (kernels have no Jupyter user, and the callback needs one).
"""

from __future__ import annotations

import time
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...core.service import safe_next
from ...core.validation import MAX_PATH, text
from .base import ApiError, DbxAuthAPIHandler


def login_path(base_url: str, name: str) -> str:
    return f"{base_url}dbx-auth/login/{quote(name, safe='')}"


def signed_in_path(base_url: str, name: str, next_url: str | None = None) -> str:
    """Where the hub service sends the browser back after a sign-in there (`pages.py`)."""
    path = f"{base_url}dbx-auth/signed-in/{quote(name, safe='')}"
    return path + (f"?next={quote(next_url, safe='')}" if next_url else "")


class ConnectionsHandler(DbxAuthAPIHandler):
    """`GET api/connections`: every connection, its status, identity and warnings. No token."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        service = self.service
        service.reload()
        for item in (await service.list_connections())["connections"]:
            if item["status"] == "ok" and item["method"] == "u2m" and not item["identity"]:
                service.learn_identity_soon(service.get(item["name"]))
        # A signed-in user connection is listed with its identity: wait for the reads in flight
        # (a sign-in finishing, or the lookups just started) rather than answer "ok" without it.
        await service.settle_identities()
        self.write_json(await service.list_connections(fresh=False))  # the hub read once


class LoginHandler(DbxAuthAPIHandler):
    """`POST api/connections/{name}/login` -> `{authorize_url, login_url, expires_at}`."""

    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        conn = self.service.get(name)
        body = self.json_body()
        # Checked as text first: a lone surrogate would otherwise fail in quote() below (500).
        raw_next = text(body.get("next"), "next", max_len=MAX_PATH, example='"/lab"')
        next_url = safe_next(raw_next, self.base_url)
        if raw_next and next_url is None:
            raise ApiError(
                400,
                "`next` must be a path on this Jupyter server.",
                f"Use a path that starts with {self.base_url}.",
            )
        path = login_path(self.base_url, conn.name)
        if next_url:
            path += f"?next={quote(next_url, safe='')}"
        if self.service.is_hub(conn):  # hub mode: the sign-in happens at the hub's service
            reply = await self.service.hub.login_reply(  # type: ignore[union-attr]
                conn,
                next_url=signed_in_path(self.base_url, conn.name, next_url),
                login_url=path,
                kernel=self.kernel_caller,
            )
            self.write_json(reply)
            return
        if self.kernel_caller:
            if conn.method.value != "u2m":
                raise ApiError(
                    400,
                    f"Connection {conn.name} does not sign in users.",
                    "Add a service principal secret instead.",
                )
            # The browser that opens `login_url` decides the hand-off; a kernel offers paste.
            redirect_uri = self.service.redirect_uri(
                conn, protocol="http", host="localhost", base_url=self.base_url
            )
            finish = await self.plan_finish(conn.name, redirect_uri, None)
            await self.service.note_kernel_waiting(conn)
            self.write_json(
                {"authorize_url": None, "login_url": path, "expires_at": None, **finish}
            )
            return
        redirect_uri = self.service.redirect_uri(
            conn, protocol=self.request.protocol, host=self.request.host, base_url=self.base_url
        )
        url = await self.service.begin_login(
            conn,
            user=self.user_name(),
            redirect_uri=redirect_uri,
            next_url=next_url,
            client=self.client(),
        )
        self.write_json(
            {
                "authorize_url": url,
                "login_url": path,
                "expires_at": time.time() + self.service.login_ttl,
                **await self.plan_finish(conn.name, redirect_uri, url),
            }
        )


class LogoutHandler(DbxAuthAPIHandler):
    """`POST api/connections/{name}/logout`: forget the tokens (and revoke when advertised)."""

    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        conn = self.service.get(name)
        self.write_json(await self.service.logout(conn, user=self.user_name()))


class CancelLoginHandler(DbxAuthAPIHandler):
    """`POST api/connections/{name}/cancel`: give up a pending sign-in (Cancel, window closed)."""

    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        conn = self.service.get(name)
        self.write_json(await self.service.cancel_login_of(conn, user=self.user_name()))
