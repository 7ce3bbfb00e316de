"""What every emulator handler shares: state access, URLs, fault knobs, Databricks-shaped errors
and Bearer-token checks."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import tornado.web

from ..jwt_keys import SigningKeys, TokenInvalid
from ..state import EmulatorState, ServicePrincipal, User

log = logging.getLogger("jupyter_dbx_auth.emulator")


@dataclass
class Caller:
    """The principal behind a verified Bearer token."""

    principal: User | ServicePrincipal
    scopes: set[str]
    claims: dict[str, Any]
    account_level: bool


class DatabricksError(Exception):
    """An API error rendered as Databricks does: `{"error_code": ..., "message": ...}`."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


class EmulatorHandler(tornado.web.RequestHandler):
    # Fault knobs apply to the surfaces a real outage would hit; the admin handler opts out.
    apply_faults = True

    @property
    def state(self) -> EmulatorState:
        return self.settings["emulator_state"]

    @property
    def keys(self) -> SigningKeys:
        return self.settings["emulator_keys"]

    @property
    def base_path(self) -> str:
        return self.settings["emulator_base_path"]

    def origin(self) -> str:
        """The URL clients used to reach us (so discovery works behind a proxy), plus base path.

        With --public-url, our own loopback address instead: the browser comes through the
        proxy (another Host) and the server over loopback, and both must meet one issuer (a code
        is bound to the issuer that issued it)."""
        fixed = self.settings.get("emulator_internal_origin")
        return fixed or f"{self.request.protocol}://{self.request.host}{self.base_path}"

    def browser_origin(self) -> str:
        """Where browsers reach us: `--public-url` when a proxy serves our pages elsewhere."""
        return self.settings.get("emulator_public_url") or self.origin()

    def workspace_issuer(self) -> str:
        return f"{self.origin()}/oidc"

    def account_issuer(self) -> str:
        return f"{self.origin()}/oidc/accounts/{self.state.account_id}"

    async def prepare(self) -> None:
        if self.apply_faults and self.state.faults.latency > 0:
            await asyncio.sleep(self.state.faults.latency)

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.clear_header("Server")

    def write_json(self, status: int, body: Any, headers: list[tuple[str, str]] | None = None):
        self.set_status(status)
        for name, value in headers or []:
            self.set_header(name, value)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Unhandled errors: a Databricks-shaped body, never a traceback."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, DatabricksError):
            self.set_status(exc.status)
            body = {"error_code": exc.error_code, "message": exc.message}
        elif status_code == 404:
            body = {"error_code": "ENDPOINT_NOT_FOUND", "message": "No API found for this path."}
        elif status_code == 405:
            body = {"error_code": "BAD_REQUEST", "message": "Method not allowed for this path."}
        elif status_code < 500:
            body = {"error_code": "BAD_REQUEST", "message": self._reason}
        else:
            body = {
                "error_code": "INTERNAL_ERROR",
                "message": "The emulator hit an internal error.",
            }
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, DatabricksError):
            return  # expected API errors, not bugs
        super().log_exception(typ, value, tb)

    def json_body(self) -> dict[str, Any]:
        if not self.request.body:
            return {}
        try:
            data = json.loads(self.request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise DatabricksError(400, "MALFORMED_REQUEST", "Request body is not JSON.") from exc
        if not isinstance(data, dict):
            raise DatabricksError(400, "MALFORMED_REQUEST", "Request body must be a JSON object.")
        return data

    def close_connection(self) -> None:
        """Drop the TCP connection without a response: what a client sees when an IdP is down."""
        stream = self.request.connection.detach()  # type: ignore[union-attr]
        stream.close()
        self._finished = True

    # -- Bearer authentication ---------------------------------------------------------------
    def authenticate(
        self, *, account: bool = False, scopes: frozenset[str] = frozenset()
    ) -> Caller:
        header = self.request.headers.get("Authorization", "")
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise DatabricksError(
                401,
                "UNAUTHENTICATED",
                "Credential was not sent or was of an unsupported type for this API.",
            )
        account_path = f"{self.base_path}/oidc/accounts/{self.state.account_id}"
        paths = {account_path} if account else {account_path, f"{self.base_path}/oidc"}
        try:
            claims = self.keys.verify(token.strip(), issuer_paths=paths, now=self.state.now)
        except TokenInvalid as exc:
            raise DatabricksError(401, "UNAUTHENTICATED", f"Invalid access token. {exc}") from exc
        subject = claims.get("sub")
        principal = self.state.principal(subject) if isinstance(subject, str) else None
        jti = claims.get("jti")
        if (
            principal is None
            or not isinstance(jti, str)
            or not self.state.is_token_live(jti, principal.subject)
        ):
            raise DatabricksError(401, "UNAUTHENTICATED", "Invalid access token. Token is revoked.")
        granted = set(str(claims.get("scope", "")).split())
        if "all-apis" not in granted and not (granted & scopes):
            raise DatabricksError(
                403, "PERMISSION_DENIED", "Invalid scope: the token's scopes do not allow this API."
            )
        caller = Caller(principal, granted, claims, str(claims["iss"]).endswith(account_path))
        if account and not principal.account_admin:
            raise DatabricksError(
                403, "PERMISSION_DENIED", "This API requires the account admin role."
            )
        return caller
