"""databricks-sdk's `metadata-service` auth type, answered for this server's connections.

Any SDK-based tool (a plain `WorkspaceClient()`, `!python job.py`, the `databricks` CLI in a
terminal, dbt, Databricks Connect) signs in with no code when its environment holds
`DATABRICKS_HOST`, `DATABRICKS_AUTH_TYPE=metadata-service` and `DATABRICKS_METADATA_SERVICE_URL`:
the SDK GETs the URL with `X-Databricks-Metadata-Version: 1` and `X-Databricks-Host: <host>` and
expects `{"access_token", "token_type", "expires_on"}` (epoch seconds). It sends no credentials of
its own, so the URL is the credential: `http://jupyter-dbx-auth:<secret>@127.0.0.1:<port>/`, one
random secret per connection (and service principal), minted when a kernel asks for it with its
kernel key (`GET api/metadata-service`, `MetadataUrlHandler`) or for
`c.DatabricksAuth.default_connection`.

Why the secret is the URL's password and not its path: HTTP clients send a URL's user info as an
`Authorization: Basic` header (requests, which the SDK uses; Go's net/http, which the CLI uses),
and no request log prints that header, whereas the path is in every access log, the server's and
the client's alike (urllib3 logs `"GET /<path>"` at DEBUG in the notebook or subprocess).

Why a listener of its own rather than a route of the Jupyter server: jupyter-server's per-request
machinery (identity, XSRF, its request log) is for browsers; this tornado `HTTPServer` on
127.0.0.1 has its own `Application` whose request log and error log name neither the path nor the
headers. Refused: a missing or unknown secret (401), a missing or other protocol version (400), an
`X-Databricks-Host` that is not the connection's host (403), any request from a browser (an
`Origin` header, 403), any path but `/` (404), and on Linux any process of another OS user (403,
`peer_uid.py`), so a URL that leaked still works only for this user.

Tokens come from `AuthService.get` / `.sp_connection` / `.token`, exactly what the kernel token
API (`handlers.token.TokenHandler`) calls: the same cache, refresh and single-flight.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import MutableMapping
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from tornado import httpserver, netutil, web

from ..core.errors import DbxAuthError
from ..core.hosts import normalize_host
from ..core.service import AuthService
from .handlers.base import ApiError, ErrorReplies, check_kernel_request, error_reply, status_for
from .peer_uid import peer_uid

log = logging.getLogger(__name__)

VERSION_HEADER = "X-Databricks-Metadata-Version"
HOST_HEADER = "X-Databricks-Host"
VERSION = "1"
#: What the SDK is told when a token has no expiry (a PAT): ask again within the hour.
NO_EXPIRY_TTL = 3600
#: The user name in the URL's user info (the password is the secret).
URL_USER = "jupyter-dbx-auth"

#: The variables a process needs to sign in through this service (kernel/env_export.py too).
ENV_HOST = "DATABRICKS_HOST"
ENV_AUTH_TYPE = "DATABRICKS_AUTH_TYPE"
ENV_URL = "DATABRICKS_METADATA_SERVICE_URL"
AUTH_TYPE = "metadata-service"


def _digest(secret: str) -> bytes:
    # Secrets are looked up by their hash: a dict probe then leaks nothing useful through timing.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


class MetadataService:
    """`start()` binds a loopback port; `url_for(connection)` mints that connection's URL."""

    def __init__(self, service: AuthService, *, address: str = "127.0.0.1") -> None:
        self.service = service
        self.address = address
        self.port: int | None = None
        self._routes: dict[bytes, tuple[str, str | None]] = {}
        self._urls: dict[tuple[str, str | None], str] = {}
        self._server: httpserver.HTTPServer | None = None

    def __repr__(self) -> str:
        return f"<MetadataService {self.address}:{self.port}>"

    def start(self) -> None:
        """Listen on a free loopback port (synchronously: the URL is known right away)."""
        app = web.Application(
            [(r"/(.*)", _MetadataHandler, {"metadata": self})],
            log_function=_log_request,
            serve_traceback=False,
            compress_response=False,
        )
        sockets = netutil.bind_sockets(0, self.address)
        self._server = httpserver.HTTPServer(app, xheaders=False)
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None

    def url_for(self, connection: str, client_id: str | None = None) -> str:
        """The connection's metadata-service URL (one secret per connection and principal)."""
        if self.port is None:
            raise DbxAuthError(
                "The metadata service is not running.", hint="Restart the Jupyter server."
            )
        key = (connection, client_id or None)
        url = self._urls.get(key)
        if url is None:
            secret = secrets.token_urlsafe(32)
            self._routes[_digest(secret)] = key
            url = self._urls[key] = f"http://{URL_USER}:{secret}@{self.address}:{self.port}/"
        return url

    def route(self, secret: str) -> tuple[str, str | None] | None:
        return self._routes.get(_digest(secret))

    async def answer(
        self, path: str, headers: Any, peer: tuple[str, int] | None = None
    ) -> dict[str, Any]:
        """The protocol's JSON for one request, or `ApiError` / the core's errors."""
        if path:
            raise ApiError(404, "The metadata service answers at / only.", "")
        if peer is not None and self.port is not None:
            uid = peer_uid(peer, self.port)
            if uid is not None and uid != os.getuid():
                raise ApiError(
                    403,
                    "The metadata service answers processes of the user running Jupyter only.",
                    "Run the tool as that user.",
                )
        if headers.get("Origin"):
            raise ApiError(
                403,
                "The metadata service answers local tools, not web pages.",
                "Browsers never need it; use the Databricks sidebar.",
            )
        if headers.get(VERSION_HEADER) != VERSION:
            raise ApiError(
                400,
                f"Unsupported metadata service request: send {VERSION_HEADER}: {VERSION}.",
                "databricks-sdk does this with DATABRICKS_AUTH_TYPE=metadata-service.",
            )
        route = self.route(_basic_password(headers.get("Authorization")))
        if route is None:
            raise ApiError(
                401,
                "This metadata service URL (its secret) is not known to the Jupyter server.",
                "Run %dbx_connect NAME --env again (the server may have restarted).",
            )
        name, client_id = route
        conn = self.service.get(name)
        if client_id:
            conn = self.service.sp_connection(conn, client_id)
        asked = headers.get(HOST_HEADER) or ""
        try:
            host_ok = bool(asked) and normalize_host(asked) == conn.host
        except (DbxAuthError, ValueError):
            host_ok = False
        if not host_ok:
            raise ApiError(
                403,
                f"This URL serves connection {name} ({conn.host}) only, not the host asked for.",
                f"Set DATABRICKS_HOST={conn.host}, or run %dbx_connect with the right "
                "connection and --env.",
            )
        tokens = await self.service.token(conn)
        expires = tokens.expires_at or (time.time() + NO_EXPIRY_TTL)
        return {
            "access_token": tokens.access_token.reveal(),
            "token_type": tokens.token_type or "Bearer",
            "expires_on": int(expires),
        }


def _basic_password(authorization: str | None) -> str:
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]


def _log_request(handler: web.RequestHandler) -> None:
    """Tornado's access log for this listener: status only, never the path (it is the secret)."""
    status = handler.get_status()
    if status >= 400:
        log.warning(
            "jupyter-dbx-auth metadata service: %d %s (%s)",
            status,
            handler.request.method,
            getattr(handler, "_refusal", ""),
        )


class _MetadataHandler(web.RequestHandler):
    def initialize(self, metadata: MetadataService) -> None:
        self._metadata = metadata
        self._refusal = ""

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def compute_etag(self) -> None:
        return None

    async def get(self, path: str) -> None:
        peer = getattr(self.request.connection, "context", None)
        address = getattr(peer, "address", None)
        answer = await self._metadata.answer(
            path, self.request.headers, address if isinstance(address, tuple) else None
        )
        self.finish(json.dumps(answer))

    def _request_summary(self) -> str:
        # Used by tornado in its own warnings: the method only, never the URI.
        return f"{self.request.method} (metadata service)"

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, web.HTTPError):
            status_code = exc.status_code
        elif exc is not None:
            status_code = status_for(exc)
        if exc is not None:
            self._refusal = getattr(exc, "message", "") or type(exc).__name__
        super().send_error(status_code, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        self.finish(json.dumps(error_reply(exc, self._reason)))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        # Tornado's default names the request (`%r` of it includes the URI): ours never does.
        if isinstance(value, (DbxAuthError, web.HTTPError)):
            return  # one warning line from `_log_request`
        log.error("jupyter-dbx-auth metadata service failed", exc_info=(typ, value, tb))


class MetadataUrlHandler(ErrorReplies):
    """`GET api/metadata-service?connection=NAME[&client_id=ID]` (kernel key only):
    `{"url", "host", "auth_type"}` for `%dbx_connect NAME --env`. A plain tornado handler, like
    the token route: the kernel key is the only credential, checked first."""

    def initialize(self, name: str = "") -> None:
        self._service: AuthService = self.settings["dbx_auth_service"]

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def compute_etag(self) -> None:
        return None  # the reply holds a secret URL

    @allow_unauthenticated
    async def get(self) -> None:
        check_kernel_request(self.request, self.settings["dbx_auth_kernel_key"])
        metadata: MetadataService | None = self.settings.get("dbx_auth_metadata_service")
        if metadata is None:
            raise ApiError(
                409,
                "The metadata service is turned off on this Jupyter server.",
                "Set c.DatabricksAuth.metadata_service = True and restart the server.",
            )
        conn = self._service.get(self.get_query_argument("connection", None))
        client_id = self.get_query_argument("client_id", None) or None
        if client_id:
            self._service.sp_connection(conn, client_id)  # CredentialsMissing if none stored
        reply = {"url": metadata.url_for(conn.name, client_id), "host": conn.host}
        self.finish(json.dumps({**reply, "auth_type": AUTH_TYPE}))


def export_default(
    metadata: MetadataService, name: str, environ: MutableMapping[str, str]
) -> dict[str, str]:
    """`c.DatabricksAuth.default_connection`: the variables every kernel and terminal this server
    starts from now on inherits. Returns what was set (to withdraw it at shutdown)."""
    conn = metadata.service.get(name)
    values = {ENV_HOST: conn.host, ENV_AUTH_TYPE: AUTH_TYPE, ENV_URL: metadata.url_for(conn.name)}
    environ.update(values)
    return values
