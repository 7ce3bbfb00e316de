"""The tornado application: one route table for the workspace, its account console and the admin
surface, all under an optional base path (for serving behind a proxy such as Binder's)."""

from __future__ import annotations

from typing import Any

import tornado.web

from .admin import ADMIN_PATH, AdminHandler
from .handlers import account, account_apps, discovery, oauth, workspace
from .handlers.base import EmulatorHandler
from .jwt_keys import SigningKeys
from .sql import handler as sql_thrift
from .sql import rest as sql_rest
from .state import EmulatorState

ACCT = r"/oidc/accounts/(?P<account_id>[^/]+)"
ACCT_API = r"/api/2\.0/accounts/(?P<account_id>[^/]+)"


def account_routes() -> list[tuple[str, type[tornado.web.RequestHandler]]]:
    """The account console: its OIDC issuer and the account APIs."""
    return [
        (
            ACCT + r"/\.well-known/(?:oauth-authorization-server|openid-configuration)",
            discovery.OidcMetadataHandler,
        ),
        (ACCT + r"/v1/keys", discovery.JwksHandler),
        (ACCT + r"/v1/authorize", oauth.AuthorizeHandler),
        (ACCT + r"/v1/token", oauth.TokenHandler),
        (
            ACCT_API + r"/servicePrincipals/(?P<sp_id>[^/]+)/credentials/secrets",
            account.SecretsHandler,
        ),
        (
            ACCT_API
            + r"/servicePrincipals/(?P<sp_id>[^/]+)/credentials/secrets/(?P<secret_id>[^/]+)",
            account.SecretHandler,
        ),
        (ACCT_API + r"/oauth2/custom-app-integrations", account_apps.CustomAppsHandler),
        (
            ACCT_API + r"/oauth2/custom-app-integrations/(?P<integration_id>[^/]+)",
            account_apps.CustomAppHandler,
        ),
        (ACCT_API + r"/oauth2/published-apps", account_apps.PublishedAppsHandler),
        (
            ACCT_API + r"/oauth2/published-app-integrations",
            account_apps.PublishedIntegrationsHandler,
        ),
        (
            ACCT_API + r"/oauth2/published-app-integrations/(?P<integration_id>[^/]+)",
            account_apps.PublishedIntegrationHandler,
        ),
        (ACCT_API + r"/scim/v2/Me", account.AccountMeHandler),
        (ACCT_API + r"/scim/v2/ServicePrincipals", account.AccountServicePrincipalsHandler),
    ]


def workspace_routes() -> list[tuple[str, type[tornado.web.RequestHandler]]]:
    """The workspace: its own OIDC issuer at `/oidc` and the workspace REST APIs."""
    return [
        (
            r"/oidc/\.well-known/(?:oauth-authorization-server|openid-configuration)",
            discovery.OidcMetadataHandler,
        ),
        (r"/oidc/v1/keys", discovery.JwksHandler),
        (r"/oidc/v1/authorize", oauth.AuthorizeHandler),
        (r"/oidc/v1/token", oauth.TokenHandler),
        (r"/api/2\.0/preview/scim/v2/Me", workspace.ScimMeHandler),
        (r"/api/2\.0/preview/scim/v2/ServicePrincipals", workspace.ScimServicePrincipalsHandler),
        (
            r"/api/2\.0/preview/scim/v2/ServicePrincipals/(?P<sp_id>[^/]+)",
            workspace.ScimServicePrincipalHandler,
        ),
        (r"/api/2\.[01]/clusters/list", workspace.ClustersListHandler),
        (r"/api/2\.0/sql/warehouses/?", sql_rest.WarehousesHandler),
        (r"/api/2\.0/sql/warehouses/(?P<warehouse_id>[^/]+)", sql_rest.WarehouseHandler),
        (
            r"/api/2\.0/sql/warehouses/(?P<warehouse_id>[^/]+)/(?P<action>start|stop)",
            sql_rest.WarehouseActionHandler,
        ),
        (r"/sql/1\.0/warehouses/(?P<warehouse_id>[^/]+)", sql_thrift.WarehouseThriftHandler),
    ]


def routes(role: str = "workspace") -> list[tuple[str, type[tornado.web.RequestHandler]]]:
    """The account port serves the account console only. The workspace port serves the
    workspace and, as well, the account console's paths: the client's loopback host model
    (core/hosts.py) reaches an account connection on the same port; the SDK's AccountClient
    needs the account port, whose host metadata says it is an account host."""
    table = [(r"/\.well-known/databricks-config", discovery.HostMetadataHandler)]
    if role == "account":
        return table + account_routes()
    return table + workspace_routes() + account_routes()


class NotFoundHandler(EmulatorHandler):
    def prepare(self) -> None:  # type: ignore[override]
        raise tornado.web.HTTPError(404)


def make_app(
    state: EmulatorState,
    *,
    base_path: str = "",
    admin_key: str | None = None,
    keys: SigningKeys | None = None,
    role: str = "workspace",
    public_url: str = "",
) -> tornado.web.Application:
    base = normalize_base_path(base_path)
    table: list[Any] = [(base + pattern, handler) for pattern, handler in routes(role)]
    if admin_key:
        table.append((base + ADMIN_PATH, AdminHandler))
    return tornado.web.Application(
        table,
        default_handler_class=NotFoundHandler,
        emulator_state=state,
        emulator_keys=keys or SigningKeys(),
        emulator_base_path=base,
        emulator_public_url=public_url.rstrip("/"),
        emulator_role=role,
        emulator_admin_key=admin_key,
        xsrf_cookies=False,  # an API server: clients authenticate with tokens, not cookies
        compress_response=False,
    )


def normalize_base_path(base_path: str) -> str:
    """ "/x/y/" and "x/y" both become "/x/y"; "" and "/" become ""."""
    stripped = base_path.strip("/")
    return f"/{stripped}" if stripped else ""
