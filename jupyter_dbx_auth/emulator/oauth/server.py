"""Authlib's AuthorizationServer for tornado, one instance per issuer.

Authlib ships no tornado integration, so this module supplies the four framework hooks
(`create_oauth2_request`, `create_json_request`, `handle_response`, `send_signal`). Handlers parse
the HTTP request themselves (so garbage bodies become 400s, not tracebacks) and hand Authlib a
`ParsedRequest`.

The workspace (`{url}/oidc`) and the account (`{url}/oidc/accounts/{id}`) are two issuers on one
port; each has its own server so a code or refresh token minted by one is useless at the other.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    JsonPayload,
    JsonRequest,
    OAuth2Payload,
    OAuth2Request,
)

from ..jwt_keys import SigningKeys, new_jti
from ..state import EmulatorState, RefreshToken, ServicePrincipal, User
from .models import SUPPORTED_SCOPES, EmulatorClient, query_client


@dataclass
class ParsedRequest:
    """The framework-neutral request a handler builds from tornado's."""

    method: str
    uri: str
    headers: Any
    params: dict[str, list[str]] = field(default_factory=dict)
    json: Any = None


@dataclass
class OAuthResponse:
    status: int
    body: str | dict[str, Any]
    headers: list[tuple[str, str]]


class _Payload(OAuth2Payload):
    def __init__(self, params: dict[str, list[str]]) -> None:
        self._datalist = params
        self._data = {k: v[0] for k, v in params.items() if v}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:  # type: ignore[override]
        return self._datalist


class EmulatorOAuth2Request(OAuth2Request):
    def __init__(self, parsed: ParsedRequest) -> None:
        super().__init__(method=parsed.method, uri=parsed.uri, headers=parsed.headers)
        self.payload = _Payload(parsed.params)

    @property
    def args(self) -> dict[str, str]:
        return self.payload.data

    @property
    def form(self) -> dict[str, str]:
        return self.payload.data


class _JsonPayload(JsonPayload):
    def __init__(self, data: Any) -> None:
        self._data = data

    @property
    def data(self) -> Any:
        return self._data


class EmulatorJsonRequest(JsonRequest):
    def __init__(self, parsed: ParsedRequest) -> None:
        super().__init__(parsed.method, parsed.uri, parsed.headers)
        self.payload = _JsonPayload(parsed.json)


def hash_refresh_token(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class EmulatorAuthorizationServer(AuthorizationServer):
    def __init__(self, state: EmulatorState, keys: SigningKeys, issuer: str) -> None:
        super().__init__(scopes_supported=SUPPORTED_SCOPES)
        self.state = state
        self.keys = keys
        self.issuer = issuer
        self.register_token_generator("default", self._generate_token)

    # -- framework hooks ---------------------------------------------------------------------
    def query_client(self, client_id: object) -> EmulatorClient | None:
        return query_client(self.state, client_id)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        return EmulatorOAuth2Request(request)

    def create_json_request(self, request: Any) -> JsonRequest:
        return EmulatorJsonRequest(request)

    def handle_response(self, status: int, body: Any, headers: Any) -> OAuthResponse:
        return OAuthResponse(status, body, list(headers or []))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No listeners: the emulator has no signal bus."""

    # -- tokens ------------------------------------------------------------------------------
    def access_token_ttl(self, client: EmulatorClient) -> int:
        ttl = self.state.token_ttl
        app = getattr(client, "app", None)
        if app is not None and app.access_token_ttl_minutes:
            ttl = min(ttl, int(app.access_token_ttl_minutes) * 60)
        return ttl

    def _generate_token(
        self,
        grant_type: str,
        client: EmulatorClient,
        user: User | ServicePrincipal | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        principal = user if user is not None else getattr(client, "sp", None)
        if principal is None:
            raise RuntimeError("token without a principal")
        scope = scope or "all-apis"
        ttl = expires_in or self.access_token_ttl(client)
        clock = self.state.now()
        now = int(clock)
        jti = new_jti()
        claims = {
            "iss": self.issuer,
            "sub": principal.subject,
            "aud": client.get_client_id(),
            "client_id": client.get_client_id(),
            "scope": scope,
            "iat": now,
            "nbf": now,
            # Rounded up, so `expires_in` (the whole TTL, 3600 for an hour as Databricks answers)
            # added to any clock reading taken before this request never passes `exp`.
            "exp": math.ceil(clock) + ttl,
            "jti": jti,
        }
        self.state.issued[jti] = (principal.subject, client.get_client_id())
        token: dict[str, Any] = {
            "access_token": self.keys.sign(claims),
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": scope,
        }
        # Databricks issues refresh tokens only to users who granted offline_access.
        if include_refresh_token and isinstance(principal, User) and _offline(scope):
            token["refresh_token"] = "emu-rt-" + secrets.token_urlsafe(32)
        return token

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        refresh = token.get("refresh_token")
        if not refresh or request.user is None or request.client is None:
            return
        app = request.client.app
        self.state.refresh_tokens[hash_refresh_token(refresh)] = RefreshToken(
            token_hash=hash_refresh_token(refresh),
            client_id=request.client.get_client_id(),
            subject=request.user.subject,
            scope=token["scope"],
            issuer=self.issuer,
            expires_at=self.state.now() + app.refresh_token_ttl_minutes * 60,
        )


def _offline(scope: str) -> bool:
    return "offline_access" in scope.split()
