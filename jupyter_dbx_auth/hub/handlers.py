"""The hub token service's HTTP API: thin tornado handlers over a `HubAuthService`.

Who is calling is the hub's business: `HubOAuthenticated` identifies a browser (the service's
cookie, set through hub OAuth) or a user's server (its own `JUPYTERHUB_API_TOKEN` in the
Authorization header, which needs `access:services!service=<name>`). Routes under the prefix
`/services/<name>/`:

    GET    login/<connection>?next=   browser: start a sign-in, redirect to Databricks
    GET    callback?code=&state=      browser: the one redirect URL of the OAuth app
    GET    api/status                 browser or server: the caller's connections, no tokens
    GET    api/token/<connection>     server only (token auth): a short-lived access token
    DELETE api/sign-ins/<connection>  browser (XSRF) or server: sign the caller out of it
    GET    api/admin                  hub admins: sign-ins and group SPs, names and times only
    GET    admin (POST: revoke)       hub admins: the same as a page, with revoke buttons
    DELETE api/admin/sign-ins/<user>/<connection>   hub admins: revoke a user's sign-in

Browsers never receive a token (`api/token` refuses cookie authentication), writes by a browser
need the XSRF token (token-authenticated requests are not browsers and need none), and `next` may
only point back into this origin.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from tornado import web

from ..core import errors
from ..core.errors import DbxAuthError
from .protocol import HubAuthService, HubUser


class InFlight:
    """Requests being answered, so a stopping service can let them finish (a refresh in progress
    writes its rotated refresh token before the process exits)."""

    def __init__(self) -> None:
        self.count = 0
        self.idle = asyncio.Event()
        self.idle.set()

    def enter(self) -> None:
        self.count += 1
        self.idle.clear()

    def leave(self) -> None:
        self.count -= 1
        if self.count <= 0:
            self.count = 0
            self.idle.set()


class _Base(HubOAuthenticated, web.RequestHandler):
    def initialize(self, service: HubAuthService, callback_url: str) -> None:
        self.service = service
        self.callback_url = callback_url

    def prepare(self) -> None:
        self._counted = True
        self.settings["dbx_inflight"].enter()

    def on_finish(self) -> None:
        if getattr(self, "_counted", False):
            self._counted = False
            self.settings["dbx_inflight"].leave()

    def on_connection_close(self) -> None:
        self.on_finish()  # the client left; its request no longer holds the shutdown

    def check_xsrf_cookie(self) -> None:
        # A request carrying a hub token is a server or a script, not a browser: no CSRF.
        if self.request.headers.get("Authorization", "").startswith(("token ", "Bearer ")):
            return
        super().check_xsrf_cookie()

    def hub_user(self) -> HubUser:
        user = HubUser.from_model(self.current_user or {})
        if user is None:
            raise web.HTTPError(
                403, "This needs a hub user (signed in to the hub, or a server's token)."
            )
        return user

    def token_authenticated(self) -> bool:
        return bool(self.request.headers.get("Authorization"))

    def fail(self, exc: DbxAuthError) -> None:
        status = errors.http_status(exc)  # the same codes as the server's API
        self.set_status(status)
        retry_after = getattr(exc, "retry_after", 0)
        if status == 429 and retry_after > 0:
            self.set_header("Retry-After", str(max(1, round(retry_after))))
        self.finish(exc.to_dict())

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = getattr(exc, "log_message", None) or self._reason
        self.finish({"error": self._reason, "message": message, "hint": ""})


class LoginHandler(_Base):
    @web.authenticated  # not known to this service yet: hub OAuth first, then back here
    async def get(self, connection: str) -> None:
        if self.token_authenticated():
            # A sign-in binds a browser to Databricks; a server (or kernel code holding the
            # server's token) has no browser to send there.
            raise web.HTTPError(403, "Sign-ins start in the user's browser, not with a token.")
        user = self.hub_user()
        next_url = self.get_argument("next", None)
        if next_url is not None and not same_origin_path(next_url):
            raise web.HTTPError(400, "next must be a path on this hub.")
        try:
            url = await self.service.begin_login(
                user, connection, redirect_uri=self.callback_url, next_url=next_url
            )
        except DbxAuthError as exc:
            self.fail(exc)
            return
        self.redirect(url)


class CallbackHandler(_Base):
    @web.authenticated  # the query string survives the hub OAuth round trip
    async def get(self) -> None:
        user = self.hub_user()
        state = self.get_argument("state", None)
        error = self.get_argument("error", None)
        if error is not None:
            await self.service.decline_login(user, state=state, error=error)
            description = self.get_argument("error_description", "") or error
            self.set_status(400)
            self.finish(_page("Sign-in refused", f"Databricks said: {description}. Start again."))
            return
        code = self.get_argument("code", None)
        if not code:
            raise web.HTTPError(400, "The callback has no code: start the sign-in again.")
        try:
            connection, next_url = await self.service.complete_login(user, state=state, code=code)
        except DbxAuthError as exc:
            self.fail(exc)
            return
        if next_url and same_origin_path(next_url):
            self.redirect(next_url)
        else:
            self.finish(_page("Signed in", f"{user.name} is signed in to {connection}."))


class StatusHandler(_Base):
    async def get(self) -> None:
        user = self.hub_user()
        try:
            status = await self.service.status(user)
        except DbxAuthError as exc:
            self.fail(exc)
            return
        self.set_header("Cache-Control", "no-store")
        self.finish(status)


class TokenHandler(_Base):
    async def get(self, connection: str) -> None:
        if not self.token_authenticated():
            raise web.HTTPError(
                403, "Tokens are for servers (their JUPYTERHUB_API_TOKEN), not browsers."
            )
        user = self.hub_user()
        try:
            token = await self.service.token(
                user, connection, rejected=self.get_argument("rejected", None)
            )
        except DbxAuthError as exc:
            self.fail(exc)
            return
        self.set_header("Cache-Control", "no-store")
        self.finish(token.to_json())


class SignOutHandler(_Base):
    async def delete(self, connection: str) -> None:
        user = self.hub_user()
        try:
            status = await self.service.sign_out(user, connection)
        except DbxAuthError as exc:
            self.fail(exc)
            return
        self.finish(status)


class _AdminBase(_Base):
    def admin(self) -> HubUser:
        user = self.hub_user()
        if not user.admin:
            raise web.HTTPError(403, "Only hub admins may see this.")
        return user


class AdminHandler(_AdminBase):
    @web.authenticated  # an admin's browser goes through hub OAuth first, like the login page
    async def get(self) -> None:
        self.admin()
        self.set_header("Cache-Control", "no-store")
        self.finish(await self.service.overview())


class RevokeHandler(_AdminBase):
    async def delete(self, user_name: str, connection: str) -> None:
        self.admin()
        try:
            removed = await self.service.revoke(user_name, connection)
        except DbxAuthError as exc:
            self.fail(exc)
            return
        self.set_status(200 if removed else 404)
        self.finish({"revoked": removed, "user": user_name, "connection": connection})


def same_origin_path(url: str) -> bool:
    """A path on this origin: starts with one '/', no scheme, no host, no backslash tricks."""
    parsed = urlparse(url)
    return (
        url.startswith("/")
        and not url.startswith("//")
        and "\\" not in url
        and not parsed.scheme
        and not parsed.netloc
    )


def _page(title: str, text: str) -> str:
    return (
        f"<!doctype html><title>{html.escape(title)}</title>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
    )


def make_app(
    service: HubAuthService, *, prefix: str, callback_url: str, cookie_secret: bytes
) -> web.Application:
    """The service's tornado application; `prefix` is `$JUPYTERHUB_SERVICE_PREFIX`."""
    from .admin_page import AdminPageHandler  # it builds on this module's handlers

    args = {"service": service, "callback_url": callback_url}
    name = r"([^/]+)"
    return web.Application(
        [
            (prefix + rf"login/{name}", LoginHandler, args),
            (prefix + "callback", CallbackHandler, args),
            (prefix + "api/status", StatusHandler, args),
            (prefix + rf"api/token/{name}", TokenHandler, args),
            (prefix + rf"api/sign-ins/{name}", SignOutHandler, args),
            (prefix + "api/admin", AdminHandler, args),
            (prefix + "admin", AdminPageHandler, args),
            (prefix + rf"api/admin/sign-ins/{name}/{name}", RevokeHandler, args),
            (prefix + "oauth_callback", HubOAuthCallbackHandler),
        ],
        cookie_secret=cookie_secret,
        xsrf_cookies=True,
        dbx_inflight=InFlight(),
    )
