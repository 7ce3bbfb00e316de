"""`GET api/token?connection=NAME[&client_id=ID][&refresh=1]`: an access token for a kernel.

Kernel key only (see `base.py`): a browser cookie or the Jupyter token is refused with 403. This is
the one response that carries a token: an access token, short-lived, never a refresh token.
`client_id` picks one of the connection's stored service principals; `refresh=1&rejected=FP` asks
for a new token after Databricks refused (401) the token whose fingerprint is FP
(`core.oauth.tokens.fingerprint`): only the first kernel to report a token causes a refresh.

Why a plain tornado `RequestHandler` rather than `APIHandler`: kernels call this on every token
expiry, in bursts when many notebooks run, and jupyter-server's per-request machinery (identity
lookup, CORS and CSP headers, activity tracking, Prometheus metrics in its request log) costs
more than everything this endpoint does. None of it applies: the only credential accepted is the
kernel key, checked first; Jupyter credentials are refused. Marked `@allow_unauthenticated` for
jupyter-server's start-up audit because it authenticates by itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NoReturn

from jupyter_server.auth.decorator import allow_unauthenticated
from tornado import web

from ...core import errors, validation
from ...core.validation import MAX_SECRET, text
from ..kernel_key import SCHEME, KernelKey, presented_key
from ..pending import StateRejected, TooManyLogins
from ..service import DbxAuthService
from .base import ApiError, error_reply, status_for


def _refuse(message: str, hint: str) -> NoReturn:
    raise ApiError(403, message, hint)


async def issue_token(
    service: DbxAuthService,
    key: KernelKey,
    *,
    authorization: str | None,
    jupyter_credentials: bool,
    query: Mapping[str, str],
) -> dict[str, Any]:
    """The token API's answer, whichever transport asked (this route or `token_socket`).

    Raises `ApiError` (403: no key, a wrong key, or Jupyter credentials alongside) or the core's
    errors (unknown connection, login required, ...), which each transport turns into JSON.
    """
    candidate = presented_key(authorization)
    if candidate is None:
        _refuse(
            "This endpoint is for kernels started by this Jupyter server only.",
            f"Kernels send 'Authorization: {SCHEME} <key>' from their environment.",
        )
    if jupyter_credentials:
        _refuse(
            "A kernel-key request must not carry Jupyter credentials (cookie or token).",
            "Kernels send only the kernel key.",
        )
    if not key.matches(candidate):
        _refuse(
            "The kernel key was not accepted.",
            "Only kernels started by this Jupyter server can use this endpoint; restart the "
            "kernel if the server was restarted.",
        )
    # Query values checked as text (bounded, printable) before they reach the store or the IdP.
    conn = service.get(text(query.get("connection"), "connection"))
    client_id = validation.client_id(query.get("client_id"))
    if client_id:
        conn = service.sp_connection(conn, client_id)
    if query.get("refresh", "") in ("1", "true"):
        rejected = text(query.get("rejected"), "rejected", max_len=MAX_SECRET)
        tokens = await service.replace_rejected(conn, rejected)
    else:
        tokens = await service.token(conn)
    return {
        "access_token": tokens.access_token.reveal(),
        "token_type": tokens.token_type,
        "expires_at": tokens.expires_at,
        "host": conn.host,
        "account_id": conn.account_id,
        "account": conn.account,
    }


class TokenHandler(web.RequestHandler):
    def initialize(self, name: str = "") -> None:
        # `name` is passed by ExtensionApp to every handler; this one needs only the settings.
        self._service: DbxAuthService = self.settings["dbx_auth_service"]
        self._key = self.settings["dbx_auth_kernel_key"]

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def compute_etag(self) -> None:
        # A token response is never cached or revalidated, and an ETag would publish a hash of it.
        return None

    @allow_unauthenticated
    async def get(self) -> None:
        request = self.request
        reply = await issue_token(
            self._service,
            self._key,
            authorization=request.headers.get("Authorization"),
            jupyter_credentials=bool(request.headers.get("Cookie"))
            or "token" in request.query_arguments,
            query={name: self.get_query_argument(name) for name in request.query_arguments},
        )
        self.finish(json.dumps(reply))

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, web.HTTPError):
            status_code = exc.status_code
        elif exc is not None:
            status_code = status_for(exc)
        super().send_error(status_code, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(json.dumps(error_reply(kwargs.get("exc_info"), self._reason)))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        expected = (errors.DbxAuthError, StateRejected, TooManyLogins, web.HTTPError)
        if isinstance(value, expected):
            web.app_log.warning("GET %s: %s", self.request.path, getattr(value, "message", value))
            return
        super().log_exception(typ, value, tb)

    def _log(self) -> None:
        # Successful token fetches are not logged (volume, and nothing to learn); failures are.
        if self.get_status() >= 400:
            web.app_log.warning(
                "%d GET %s (%s)", self.get_status(), self.request.path, self.request.remote_ip
            )
