"""Authlib grants with the emulator's storage plugged in.

Policy choices (what Databricks does, or the secure thing where it is silent):
- PKCE is required for every authorization request and only S256 is accepted.
- A code is consumed by the first redemption attempt, successful or not: a leaked code with a
  guessed verifier gets exactly one try.
- Refresh tokens exist only when `offline_access` was granted; with the app's single-use policy
  each refresh token works once and the response carries its successor.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError, InvalidScopeError, OAuth2Request, grants
from authlib.oauth2.rfc7636 import CodeChallenge

from ..state import AUTHORIZATION_CODE_TTL, AuthorizationCode, ServicePrincipal, User
from .models import AppClient, CodeModel, RefreshTokenModel, unregistered_redirect
from .server import EmulatorAuthorizationServer, hash_refresh_token

ALL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


class S256CodeChallenge(CodeChallenge):
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    CODE_CHALLENGE_METHODS = {"S256": CodeChallenge.CODE_CHALLENGE_METHODS["S256"]}

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: missing 'code_challenge'.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Unsupported 'code_challenge_method': only S256 is allowed.")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: CodeModel) -> str:
        return authorization_code.code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: CodeModel) -> str:
        return authorization_code.code.code_challenge_method


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS
    server: EmulatorAuthorizationServer

    @staticmethod
    def validate_authorization_redirect_uri(request: OAuth2Request, client: Any) -> str:
        """Databricks requires `redirect_uri` and refuses, without redirecting, any URI the app
        has not registered, in these words (databricks/cli#3416, databricks-sdk-go#1267)."""
        uri = request.payload.redirect_uri
        if not uri:
            raise InvalidRequestError("Missing 'redirect_uri' in request.")
        if not client.check_redirect_uri(uri):
            raise InvalidRequestError(unregistered_redirect(uri, client.get_client_id()))
        return uri

    def save_authorization_code(self, code: str, request: Any) -> None:
        state = self.server.state
        data = request.payload.data
        state.codes[code] = AuthorizationCode(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            username=request.user.username,
            issuer=self.server.issuer,
            code_challenge=data["code_challenge"],
            code_challenge_method=data.get("code_challenge_method", "S256"),
            expires_at=state.now() + AUTHORIZATION_CODE_TTL,
        )

    def query_authorization_code(self, code: str, client: Any) -> CodeModel | None:
        state = self.server.state
        record = state.codes.pop(code, None)  # consumed by this attempt, whatever its outcome
        if (
            record is None
            or record.client_id != client.get_client_id()
            or record.issuer != self.server.issuer
            or state.now() >= record.expires_at
        ):
            return None
        return CodeModel(record)

    def delete_authorization_code(self, authorization_code: CodeModel) -> None:
        self.server.state.codes.pop(authorization_code.code.code, None)

    def authenticate_user(self, authorization_code: CodeModel) -> User | None:
        return self.server.state.users.get(authorization_code.code.username)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: EmulatorAuthorizationServer

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshTokenModel | None:
        state = self.server.state
        record = state.refresh_tokens.get(hash_refresh_token(refresh_token))
        if record is None or record.issuer != self.server.issuer:
            return None
        model = RefreshTokenModel(record, state)
        if model.is_revoked() or model.is_expired():
            return None
        return model

    def authenticate_user(self, refresh_token: RefreshTokenModel) -> User | ServicePrincipal | None:
        return self.server.state.principal(refresh_token.record.subject)

    def revoke_old_credential(self, refresh_token: RefreshTokenModel) -> None:
        client = self.request.client
        if isinstance(client, AppClient) and client.app.single_use_refresh_tokens:
            refresh_token.record.revoked = True


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
    server: EmulatorAuthorizationServer

    def validate_token_request(self) -> None:
        super().validate_token_request()
        if self.request.client.get_allowed_scope(self.request.payload.scope) is None:
            raise InvalidScopeError()
