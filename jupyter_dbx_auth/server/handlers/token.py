"""`GET api/token?connection=NAME[&client_id=ID][&refresh=1&rejected=FP]`: a kernel's token.

Kernel key only (`base.check_kernel_request`): a browser cookie or the Jupyter token is refused
with 403. This is the one response that carries a token: an access token, short-lived, never a
refresh token. `client_id` picks one of the connection's stored service principals;
`refresh=1&rejected=FP` asks for a new token after Databricks refused (401) the token whose
fingerprint is FP (`core.oauth.tokens.fingerprint`). What that means (one refresh however many
kernels report it, at most one forced refresh per connection per interval) is
`AuthService.token`'s business; here `refresh=1` without `rejected` is refused (security finding
4: it used to force one IdP refresh per call).

The same handler class serves both transports: this route in jupyter-server's application, and
the private unix socket's own tornado application (`token_socket.py`).

Why a plain tornado `RequestHandler` rather than `APIHandler`: kernels call this on every token
expiry, in bursts when many notebooks run, and jupyter-server's per-request machinery (identity
lookup, CORS and CSP headers, activity tracking, Prometheus metrics in its request log) costs more
than everything this endpoint does. None of it applies: the only credential accepted is the kernel
key, checked first by the same function the API handlers' `KernelIdentity` uses. Marked
`@allow_unauthenticated` for jupyter-server's start-up audit because it authenticates by itself.
"""

from __future__ import annotations

import json

from jupyter_server.auth.decorator import allow_unauthenticated
from tornado import web

from ...core import wire
from ...core.errors import BadRequest
from ...core.service import AuthService
from .base import ErrorReplies, check_kernel_request

_MAX_ARG = 512  # longest connection name, client id or fingerprint accepted


class TokenHandler(ErrorReplies):
    def initialize(self, name: str = "") -> None:
        # `name` is passed by ExtensionApp to every handler; this one needs only the settings.
        self._service: AuthService = self.settings["dbx_auth_service"]
        self._key = self.settings["dbx_auth_kernel_key"]

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def compute_etag(self) -> None:
        # A token response is never cached or revalidated, and an ETag would publish a hash of it.
        return None

    def _arg(self, name: str) -> str | None:
        value = self.get_query_argument(name, None)
        if value is not None and (len(value) > _MAX_ARG or not value.isprintable()):
            raise BadRequest(f"`{name}` is not valid.", hint=f"Check {name}.")
        return value

    @allow_unauthenticated
    async def get(self) -> None:
        check_kernel_request(self.request, self._key)
        service = self._service
        conn = service.get(self._arg(wire.Q_CONNECTION))
        client_id = self._arg(wire.Q_CLIENT_ID)
        if client_id:
            conn = service.sp_connection(conn, client_id)
        rejected = self._arg(wire.Q_REJECTED) or None
        if self._arg(wire.Q_REFRESH) in ("1", "true") and rejected is None:
            raise BadRequest(
                "`refresh=1` needs `rejected`: the fingerprint of the token Databricks refused.",
                hint="Kernels send it themselves (jupyter_dbx_auth's client); a new token is only "
                "made for a token that was refused.",
            )
        tokens = await service.token(conn, rejected=rejected)
        self.finish(json.dumps(wire.token_reply(conn, tokens)))

    def _log(self) -> None:
        # Successful token fetches are not logged (volume, and nothing to learn); failures are.
        if self.get_status() >= 400:
            web.app_log.warning(
                "%d GET %s (%s)", self.get_status(), self.request.path, self.request.remote_ip
            )
