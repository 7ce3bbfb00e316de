"""A connection: one named way to reach one Databricks workspace or account console.

Resolution (traitlets values, environment, `.databrickscfg`) lives in `config.py`; this module is
only the value type that every other layer passes around.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .secret import Secret


class AuthMethod(str, enum.Enum):
    """How a connection authenticates. Values are what APIs and the UI show."""

    USER = "u2m"  # authorization code + PKCE, refresh token held by the server
    SERVICE_PRINCIPAL = "m2m"  # client credentials
    WORKLOAD_IDENTITY = "wif"  # RFC 8693 token exchange of an external OIDC token
    PAT = "pat"  # personal access token, for completeness


DEFAULT_SCOPES: tuple[str, ...] = ("all-apis", "offline_access")
M2M_SCOPES: tuple[str, ...] = ("all-apis",)


def machine_scopes(scopes: tuple[str, ...]) -> tuple[str, ...]:
    """Scopes for a machine grant (client credentials, token exchange): `offline_access` asks for
    a refresh token, which machine grants neither get nor need."""
    return tuple(s for s in scopes if s != "offline_access") or M2M_SCOPES


@dataclass(frozen=True)
class Connection:
    name: str
    host: str  # normalised: scheme://netloc, no path, no trailing slash
    method: AuthMethod
    account_id: str | None = None
    # True for an account console (accounts.cloud.databricks.com, ... or the emulator's account
    # side on the same loopback port): OAuth endpoints then live under /oidc/accounts/{account_id}.
    account: bool = False
    client_id: str | None = None
    client_secret: Secret | None = field(default=None, repr=False)
    token: Secret | None = field(default=None, repr=False)  # PAT only
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    # Workload identity federation: where the external OIDC token comes from, and its audience.
    oidc_token_env: str | None = None
    oidc_token_file: str | None = None
    token_audience: str | None = None
    discovery_url: str | None = None  # explicit OIDC discovery document URL; wins over discovery
    source: str = "config"  # "config" | "env" | "profile:<name>" | "api"

    def public_dict(self) -> dict[str, object]:
        """What may be shown to a browser: no secret, no token."""
        return {
            "name": self.name,
            "host": self.host,
            "method": self.method.value,
            "account_id": self.account_id,
            "account": self.account,
            "client_id": self.client_id,
            "scopes": list(self.scopes),
            "source": self.source,
        }
