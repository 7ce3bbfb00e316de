"""HTML pages the browser itself visits: the OAuth callback and the login-start link.

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
from ...core.service import default_next, safe_next
from .base import AUTH_RESOURCE, DbxAuthMixin

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent.parent / "templates"),
    autoescape=True,
)
#: BroadcastChannel name the JupyterLab extension listens on.
CHANNEL = "jupyter-dbx-auth"
_MAX_SHOWN = 300  # characters of IdP-provided text shown on an error page


class DbxAuthPageHandler(DbxAuthMixin, JupyterHandler):
    _nonce = ""

    @property
    def content_security_policy(self) -> str:
        return (
            "default-src 'none'; "
            f"script-src 'nonce-{self._nonce}'; style-src 'unsafe-inline'; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
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

    def fail(self, message: str, hint: str = "") -> None:
        self.render_page("callback_error.html", 400, message=message[:_MAX_SHOWN], hint=hint)

    def user_name(self) -> str:
        return str(getattr(self.current_user, "username", "") or "")


class LoginStartHandler(DbxAuthPageHandler):
    """`GET dbx-auth/login/{name}[?next=PATH]`: start a login for this browser's user, redirect."""

    @tornado.web.authenticated
    @authorized("write", resource=AUTH_RESOURCE)
    async def get(self, name: str) -> None:
        raw_next = self.get_query_argument("next", None, strip=False)
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
        self.redirect(url)


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
            described = self.get_query_argument("error_description", "") or ""
            text = f"Databricks refused the sign-in: {error}"
            if described:
                text += f" ({described[:_MAX_SHOWN]})"
            hint = (
                "You declined access; start the sign-in again to grant it."
                if error == "access_denied"
                else "Start the sign-in again; if it keeps failing, check the OAuth app."
            )
            return self.fail(text, hint)
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
