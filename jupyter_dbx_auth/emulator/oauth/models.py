"""Authlib's model mixins over the emulator's state: who may use which grant, redirect and secret.

This is where Databricks policy lives: every app, published (`databricks-cli`) or custom, takes
exactly its registered redirect URLs - no loopback port or path leeway (RFC 8252 §7.3 would allow
any port; Databricks does not: databricks/cli#3416) - confidential apps must authenticate with
their secret, public apps are identified by `client_id` alone, and service principals get only
machine grants.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin

from ..state import (
    AuthorizationCode,
    EmulatorState,
    OAuthApp,
    RefreshToken,
    ServicePrincipal,
    secret_matches,
)

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 - a URN
SUPPORTED_SCOPES = ["all-apis", "offline_access", "sql", "openid", "email", "profile"]


def unregistered_redirect(redirect_uri: str, client_id: str) -> str:
    """Databricks' words for a redirect the app does not have (databricks/cli#3416)."""
    return f"redirect_uri '{redirect_uri}' not registered for OAuth application '{client_id}'"


class AppClient(ClientMixin):
    """An OAuth app: the published databricks-cli or a custom app integration."""

    def __init__(self, app: OAuthApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    def get_client_id(self) -> str:
        return self.app.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # Databricks requires an explicit redirect_uri

    def get_allowed_scope(self, scope: str | None) -> str | None:
        requested = (scope or "").split()
        if not requested:
            return "all-apis"
        if not set(requested) <= set(self.app.scopes):
            return None
        return " ".join(dict.fromkeys(requested))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Exact string match: another port, path, host spelling or a trailing slash is refused.
        return redirect_uri in self.app.redirect_urls

    def check_client_secret(self, client_secret: str) -> bool:
        digest = self.app.client_secret_hash
        return bool(digest) and secret_matches(client_secret, digest or "")

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.app.confidential:
            return method in ("client_secret_basic", "client_secret_post")
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


class ServicePrincipalClient(ClientMixin):
    """A service principal authenticating with one of its OAuth secrets (or federation)."""

    def __init__(self, sp: ServicePrincipal, state: EmulatorState) -> None:
        self.sp = sp
        self.state = state

    def get_client_id(self) -> str:
        return self.sp.application_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        requested = (scope or "").split() or ["all-apis"]
        allowed = set(SUPPORTED_SCOPES) - {"offline_access"}
        return " ".join(dict.fromkeys(requested)) if set(requested) <= allowed else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        now = self.state.now()
        return any(
            s.is_active(now) and secret_matches(client_secret, s.secret_hash)
            for s in self.sp.secrets
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("client_credentials", TOKEN_EXCHANGE)


EmulatorClient = AppClient | ServicePrincipalClient


def query_client(state: EmulatorState, client_id: object) -> EmulatorClient | None:
    if not isinstance(client_id, str):
        return None
    if app := state.apps.get(client_id):
        return AppClient(app, state)
    if sp := state.service_principals.get(client_id):
        return ServicePrincipalClient(sp, state)
    return None


class CodeModel(AuthorizationCodeMixin):
    def __init__(self, code: AuthorizationCode) -> None:
        self.code = code

    def get_redirect_uri(self) -> str:
        return self.code.redirect_uri

    def get_scope(self) -> str:
        return self.code.scope


class RefreshTokenModel(TokenMixin):
    def __init__(self, record: RefreshToken, state: EmulatorState) -> None:
        self.record = record
        self.state = state

    def check_client(self, client: ClientMixin) -> bool:
        return client.get_client_id() == self.record.client_id

    def get_scope(self) -> str:
        return self.record.scope

    def get_expires_in(self) -> int:
        return max(0, int(self.record.expires_at - self.state.now()))

    def is_expired(self) -> bool:
        return self.state.now() >= self.record.expires_at

    def is_revoked(self) -> bool:
        return self.record.revoked
