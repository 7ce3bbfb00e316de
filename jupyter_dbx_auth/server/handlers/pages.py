"""HTML pages the browser itself visits: the OAuth callback, the login-start page and, in hub
mode, the page the hub service sends the browser back to after a sign-in there.

Both are Jupyter-authenticated (`@tornado.web.authenticated` redirects a browser without the
cookie to the login page) and authorized for `write` on `dbx-auth`: they change state.
Every failure is a 400 page with an escaped message and a link back to JupyterLab. Pages carry a
strict CSP (a nonce for the one inline script), `no-store` and `no-referrer`: the callback URL
holds the authorization code.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import jinja2
import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler

from ...core.errors import DbxAuthError
from ...core.oauth.idp_errors import describe
from ...core.service import default_next, safe_next
from .base import AUTH_RESOURCE, DbxAuthMixin
from .connections import signed_in_path

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent.parent / "templates"),
    autoescape=True,
)
#: BroadcastChannel name the JupyterLab extension listens on.
CHANNEL = "jupyter-dbx-auth"
_MAX_SHOWN = 300  # characters of a message shown on an error page


class DbxAuthPageHandler(DbxAuthMixin, JupyterHandler):
    _nonce = ""
    form_action = "'none'"  # pages with a form say where it may post

    @property
    def content_security_policy(self) -> str:
        return (
            "default-src 'none'; "
            f"script-src 'nonce-{self._nonce}'; style-src 'unsafe-inline'; "
            f"frame-ancestors 'none'; base-uri 'none'; form-action {self.form_action}"
        )

    def set_default_headers(self) -> None:
        self._nonce = secrets.token_urlsafe(16)
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")

    def render_page(self, template: str, status: int = 200, **ns: Any) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        html = _TEMPLATES.get_template(template).render(
            nonce=self._nonce, back_url=default_next(self.base_url), channel=CHANNEL, **ns
        )
        self.finish(html)

    def fail(
        self, message: str, hint: str = "", *, code: str | None = None, idp_text: str | None = None
    ) -> None:
        self.render_page(
            "callback_error.html",
            400,
            message=message[:_MAX_SHOWN],
            hint=hint,
            code=code,
            idp_text=idp_text,
        )

    def user_name(self) -> str:
        return str(getattr(self.current_user, "username", "") or "")


class LoginStartHandler(DbxAuthPageHandler):
    """`dbx-auth/login/{name}[?next=PATH]`: the sign-in link kernels print.

    GET only shows a page with a button; the button POSTs (with `_xsrf`) and only the POST starts a
    sign-in, bound to this browser's Jupyter user. A GET that started one would let any site start
    sign-ins in the user's name by a plain link or redirect (issue 9, finding 2).
    """

    form_action = "'self'"  # the page's one form posts back here

    @tornado.web.authenticated
    @authorized("write", resource=AUTH_RESOURCE)
    async def get(self, name: str) -> None:
        raw_next = self.get_query_argument("next", None, strip=False)
        next_url = safe_next(raw_next, self.base_url)
        if raw_next and next_url is None:
            return self.fail("The page to return to is not on this Jupyter server.")
        try:
            conn = self.service.get(name)
        except DbxAuthError as exc:
            return self.fail(exc.message, exc.hint)
        if self.service.is_hub(conn):
            # Hub mode: the sign-in starts at the hub's service (its own page, its own checks).
            back = signed_in_path(self.base_url, conn.name, next_url)
            try:
                url = await self.service.hub.begin(conn, next_url=back)  # type: ignore[union-attr]
            except DbxAuthError as exc:
                return self.fail(exc.message, exc.hint)
            return self.redirect(url)
        self.render_page(
            "login_start.html",
            connection=conn.name,
            host=conn.host,
            action=self.request.path,
            xsrf=self.xsrf_token.decode("ascii"),
            next_url=next_url or "",
        )

    @tornado.web.authenticated
    @authorized("write", resource=AUTH_RESOURCE)
    async def post(self, name: str) -> None:
        # XSRF was checked before this runs (JupyterHandler.prepare, as for every POST).
        raw_next = self.get_body_argument("next", None, strip=False)
        next_url = safe_next(raw_next, self.base_url)
        if raw_next and next_url is None:
            return self.fail("The page to return to is not on this Jupyter server.")
        try:
            conn = self.service.get(name)
            redirect_uri = self.service.redirect_uri(
                conn, protocol=self.request.protocol, host=self.request.host, base_url=self.base_url
            )
            url = await self.service.begin_login(
                conn,
                user=self.user_name(),
                redirect_uri=redirect_uri,
                next_url=next_url,
                client=str(self.request.remote_ip or ""),
            )
        except DbxAuthError as exc:
            return self.fail(exc.message, exc.hint)
        await self.plan_finish(conn.name, redirect_uri, url)  # listen on localhost:8020 if it helps
        self.render_page("login_continue.html", connection=conn.name, authorize_url=url)


class CallbackHandler(DbxAuthPageHandler):
    """`GET dbx-auth/callback?code&state` (or `?error`): where Databricks sends the browser."""

    @tornado.web.authenticated
    @authorized("write", resource=AUTH_RESOURCE)
    async def get(self) -> None:
        state = self.get_query_argument("state", None)
        error = self.get_query_argument("error", None)
        if error:
            # Burn the state so that the same login cannot be completed later, and let the
            # sidebar say "declined" at once instead of waiting for a callback that never comes.
            await self.service.decline_login(user=self.user_name(), state=state, error=error)
            # Known RFC 6749 codes in our words; the IdP's free text only labelled as its own.
            said = describe(error, self.get_query_argument("error_description", None))
            return self.fail(said.message, said.hint, code=said.code, idp_text=said.idp_text)
        code = self.get_query_argument("code", None)
        if not code or len(code) > 4096:
            return self.fail("The sign-in response has no authorization code.", "Start again.")
        try:
            name, next_url = await self.service.complete_login(
                user=self.user_name(), state=state, code=code
            )
        except DbxAuthError as exc:  # StateRejected included, with its own hint
            return self.fail(exc.message, exc.hint)
        self.render_page(
            "callback_ok.html",
            connection=name,
            identity=self.service.identity_of(name),
            next_url=next_url or "",
        )


class SignedInHandler(DbxAuthPageHandler):
    """`GET dbx-auth/signed-in/{name}[?next=PATH]` (hub mode): where the hub service sends the
    browser after a sign-in there. It reads the service's status at once (so the sidebar turns
    "signed in" now, not at the next poll) and ends the sign-in window like the callback page."""

    @tornado.web.authenticated
    @authorized("read", resource=AUTH_RESOURCE)
    async def get(self, name: str) -> None:
        raw_next = self.get_query_argument("next", None, strip=False)
        next_url = safe_next(raw_next, self.base_url) or ""
        try:
            conn = self.service.get(name)
        except DbxAuthError as exc:
            return self.fail(exc.message, exc.hint)
        if not self.service.is_hub(conn):
            return self.fail(f"{conn.name} is not a connection of the hub.", "Start again.")
        await self.service.hub.signed_in(conn)  # type: ignore[union-attr]
        status = await self.service.connection_status(conn)
        if status["status"] != "ok":
            return self.fail(
                status.get("message") or f"{conn.name} is not signed in at the hub.",
                status.get("hint") or "Start the sign-in again from the Databricks sidebar.",
            )
        self.render_page(
            "callback_ok.html", connection=conn.name, identity=status["identity"], next_url=next_url
        )
