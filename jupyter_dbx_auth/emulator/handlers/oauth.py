"""The authorization and token endpoints: HTTP parsing and fault knobs here, protocol in Authlib.

Anything malformed (bad UTF-8, a non-form body, repeated parameters, an undecodable Basic header)
is answered here with an RFC 6749 error before Authlib sees it, and anything Authlib still chokes
on becomes `invalid_request`: these endpoints never answer 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qs

from authlib.oauth2 import OAuth2Error

from ..oauth import build_server
from ..oauth.server import EmulatorAuthorizationServer, OAuthResponse, ParsedRequest
from ..pages import sign_in_page
from .base import EmulatorHandler, log

MAX_FIELDS = 50
JSON_HEADERS = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]


class BadRequest(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def parse_form(raw: bytes) -> dict[str, list[str]]:
    try:
        text = raw.decode("utf-8")
        return parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("invalid_request", "The request body is not valid form data.") from exc


def reject_repeats(params: dict[str, list[str]]) -> None:
    # RFC 6749 §3.1 and §3.2: request parameters MUST NOT be included more than once.
    for name, values in params.items():
        if len(values) > 1:
            raise BadRequest("invalid_request", f"Parameter '{_safe(name)}' is repeated.")


def check_basic_header(headers: Any) -> None:
    auth = headers.get("Authorization")
    if not auth:
        return
    kind, _, value = auth.partition(" ")
    if kind.lower() != "basic":
        return
    try:
        base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("invalid_client", "Malformed HTTP Basic credentials.", 401) from exc


def _safe(text: str) -> str:
    """Error descriptions must be printable ASCII without quotes or backslashes (RFC 6749 §5.2)."""
    cleaned = "".join(c for c in text if 0x20 <= ord(c) <= 0x7E and c not in '"\\')
    return cleaned[:60]


class OAuthEndpoint(EmulatorHandler):
    def server(self, account_id: str | None) -> EmulatorAuthorizationServer:
        if account_id is not None and account_id != self.state.account_id:
            raise BadRequest("invalid_request", "No such account.", 404)
        issuer = self.account_issuer() if account_id else self.workspace_issuer()
        return build_server(self.state, self.keys, issuer)

    def parsed(self, params: dict[str, list[str]]) -> ParsedRequest:
        return ParsedRequest(
            method=self.request.method or "GET",
            uri=self.request.full_url(),
            headers=self.request.headers,
            params=params,
        )

    def send(self, response: OAuthResponse) -> None:
        self.set_status(response.status)
        for name, value in response.headers:
            self.set_header(name, value)
        body = response.body
        if isinstance(body, dict):
            self.set_header("Content-Type", "application/json")
            body = json.dumps(body)
        self.finish(body)

    def oauth_error_json(self, error: str, description: str, status: int = 400) -> None:
        headers = list(JSON_HEADERS)
        if status == 401:
            headers.append(("WWW-Authenticate", 'Basic error="invalid_client"'))
        self.write_json(status, {"error": error, "error_description": description}, headers)


class TokenHandler(OAuthEndpoint):
    async def post(self, account_id: str | None = None) -> None:
        faults = self.state.faults
        if faults.down:
            self.close_connection()
            return
        try:
            try:
                params = self._params()
            except BadRequest:
                self.state.token_requests["invalid"] += 1
                raise
            self.state.token_requests[(params.get("grant_type") or ["missing"])[0][:64]] += 1
            if faults.fail_next > 0:
                faults.fail_next -= 1
                self._injected_failure()
                return
            reject_repeats(params)
            if not params.get("grant_type", [""])[0]:
                raise BadRequest("invalid_request", "Missing 'grant_type' in request.")
            check_basic_header(self.request.headers)
            server = self.server(account_id)
            self.send(server.create_token_response(self.parsed(params)))
        except BadRequest as exc:
            self.oauth_error_json(exc.error, exc.description, exc.status)
        except Exception:
            # A bug in the emulator or Authlib must still look like an RFC error to the client;
            # the traceback goes to our log so the bug is not hidden.
            log.exception("token endpoint failed")
            self.oauth_error_json("invalid_request", "The request could not be processed.")

    def _params(self) -> dict[str, list[str]]:
        ctype = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise BadRequest(
                "invalid_request", "The token request must be application/x-www-form-urlencoded."
            )
        return parse_form(self.request.body)

    def _injected_failure(self) -> None:
        faults = self.state.faults
        headers = list(JSON_HEADERS)
        if faults.fail_retry_after is not None:
            headers.append(("Retry-After", f"{faults.fail_retry_after:g}"))
        error = "slow_down" if faults.fail_status == 429 else "temporarily_unavailable"
        body = {"error": error, "error_description": "The service is temporarily unavailable."}
        self.write_json(faults.fail_status, body, headers)


class AuthorizeHandler(OAuthEndpoint):
    async def get(self, account_id: str | None = None) -> None:
        await self._handle(account_id, form=None)

    async def post(self, account_id: str | None = None) -> None:
        try:
            form = parse_form(self.request.body)
        except BadRequest:
            form = {}
        await self._handle(account_id, form={k: v[0] for k, v in form.items()})

    async def _handle(self, account_id: str | None, form: dict[str, str] | None) -> None:
        if self.state.faults.down:
            self.close_connection()
            return
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Content-Security-Policy", "frame-ancestors 'none'")
        try:
            params = {k: v for k, v in self.request.query_arguments.items()}
            query = {k: [b.decode("utf-8") for b in v] for k, v in params.items()}
            server = self.server(account_id)
            request = self.parsed(query)
            try:
                grant = server.get_consent_grant(request)
            except OAuth2Error as error:
                self._oauth_error(server, request, error)
                return
            if form is None:
                self._sign_in(grant)
                return
            if form.get("action") == "deny":
                self.send(server.create_authorization_response(request, None, grant))
                return
            user = self.state.check_password(form.get("username", ""), form.get("password", ""))
            if user is None:
                self.set_status(401)
                self._sign_in(grant, "Incorrect email or password.", form.get("username", ""))
                return
            self.send(server.create_authorization_response(request, user, grant))
        except BadRequest as exc:
            self._error_json(exc.status, exc.error, exc.description)
        except (UnicodeDecodeError, ValueError):
            self._error_json(400, "invalid_request", "The authorization request is malformed.")
        except Exception:
            log.exception("authorize endpoint failed")
            self._error_json(400, "invalid_request", "The authorization request is malformed.")

    def _oauth_error(
        self, server: EmulatorAuthorizationServer, request: ParsedRequest, error: OAuth2Error
    ) -> None:
        if error.redirect_uri:
            self.send(server.handle_error_response(request, error))
            return
        self._error_json(400, error.error or "invalid_request", error.description or "")

    def _sign_in(self, grant: Any, error: str | None = None, username: str = "") -> None:
        client = grant.request.client
        app_name = getattr(getattr(client, "app", None), "name", client.get_client_id())
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            sign_in_page(
                # Relative ("authorize?..."): the form posts back to the page's own URL however
                # the browser reached it, also through a proxy that strips a path prefix
                # (jupyter-server-proxy on Binder).
                action_url=self._own_relative_url(),
                app_name=app_name,
                scopes=(grant.request.scope or "").split(),
                error=error,
                username=username,
            )
        )

    def _own_relative_url(self) -> str:
        last = self.request.path.rstrip("/").rsplit("/", 1)[-1]
        return f"{last}?{self.request.query}" if self.request.query else last

    def _error_json(self, status: int, error: str, description: str) -> None:
        """An authorization error that cannot go back to the app: Databricks shows the browser
        a bare JSON body, `{"error_description": ..., "error": ...}` (databricks/cli#3416,
        databricks/dbt-databricks#582). The status code is not shown there; 400 is the
        stricter reading of RFC 6749 §4.1.2.1."""
        self.write_json(status, {"error_description": description, "error": error})
