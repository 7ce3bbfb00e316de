"""Discovery: the host metadata databricks-sdk reads first, the two OIDC documents and the JWKS.

`/.well-known/databricks-config` answers as the host it is asked on:
- the workspace port like a classic workspace, `oidc_endpoint` = `{url}/oidc` with its
  `workspace_id` (databricks/cli `libs/testserver/server.go`, `cmd/auth/login_test.go`), so
  WorkspaceClient and every workspace connection sign in at the workspace's own OIDC endpoints;
- the account port like the account console, `oidc_endpoint` = `{url}/oidc/accounts/{account_id}`
  and no `workspace_id` (databricks-sdk `Config._resolve_host_metadata`: no workspace id means
  an account-level host), so AccountClient gets account tokens.
"""

from __future__ import annotations

from .base import EmulatorHandler

GRANT_TYPES = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:token-exchange",
]


class HostMetadataHandler(EmulatorHandler):
    def get(self) -> None:
        state = self.state
        if self.settings.get("emulator_role") == "account":
            body = {
                "oidc_endpoint": f"{self.origin()}/oidc/accounts/{state.account_id}",
                "account_id": state.account_id,
                "cloud": state.cloud,
            }
        else:
            body = {
                "oidc_endpoint": f"{self.origin()}/oidc",
                "account_id": state.account_id,
                "workspace_id": state.workspace_id,
                "cloud": state.cloud,
            }
        self.write_json(200, body)


class OidcMetadataHandler(EmulatorHandler):
    def get(self, account_id: str | None = None) -> None:
        if account_id is not None and account_id != self.state.account_id:
            self.write_json(404, {"error_code": "NOT_FOUND", "message": "No such account."})
            return
        issuer = self.account_issuer() if account_id else self.workspace_issuer()
        # Only the authorize page is for browsers: with --public-url (a deployment option, not
        # Databricks behaviour) it names the proxied address; the rest stays where the caller is.
        browser_issuer = self.browser_origin() + issuer[len(self.origin()) :]
        self.write_json(
            200,
            {
                "issuer": issuer,
                "authorization_endpoint": f"{browser_issuer}/v1/authorize",
                "token_endpoint": f"{issuer}/v1/token",
                "jwks_uri": f"{issuer}/v1/keys",
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "grant_types_supported": GRANT_TYPES,
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                    "none",
                ],
                "scopes_supported": ["all-apis", "offline_access", "sql", "openid", "email"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            },
        )


class JwksHandler(EmulatorHandler):
    apply_faults = False  # verifiers cache keys; an outage of the keys endpoint is not modelled

    def get(self, account_id: str | None = None) -> None:
        if account_id is not None and account_id != self.state.account_id:
            self.write_json(404, {"error_code": "NOT_FOUND", "message": "No such account."})
            return
        self.write_json(200, self.keys.jwks())
