"""Databricks' published OAuth apps: the catalog `GET .../oauth2/published-apps` lists.

Only apps whose redirect URLs a public source shows are here, with exactly those URLs: a
published app accepts no other redirect (databricks/cli#3416: `redirect_uri
'http://127.0.0.1:53890' not registered for OAuth application 'databricks-cli'`). Power BI and
Tableau Desktop are published apps too, but no public source shows their redirect URLs, so the
emulator does not pretend to know them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# What every published app may ask for. Databricks lists "required" scopes per app; which others
# it grants is not documented, so the emulator allows these and no fine-grained API scopes.
COMMON_SCOPES = ["all-apis", "offline_access", "sql", "openid", "email", "profile"]


@dataclass(frozen=True)
class PublishedApp:
    app_id: str
    client_id: str
    name: str
    description: str
    redirect_urls: list[str]
    scopes: list[str] = field(default_factory=lambda: list(COMMON_SCOPES))


CATALOG: list[PublishedApp] = [
    # databricks-sdk-py credentials_provider.py (`external-browser`): client_id "databricks-cli",
    # redirect_url "http://localhost:8020"; the Databricks CLI and databricks-sdk-go use the same
    # (databricks-sdk-go PR #1267 reverted random ports because Databricks refused them).
    PublishedApp(
        app_id="databricks-cli",
        client_id="databricks-cli",
        name="Databricks CLI",
        description="Databricks CLI and SDKs (external-browser sign-in)",
        redirect_urls=["http://localhost:8020"],
    ),
    # databricks-sql-connector auth/auth.py: client_id "databricks-sql-python", and it listens on
    # the first free port of 8020-8024 (`http://localhost:{port}`, auth/oauth.py), which works
    # only if all five are registered.
    PublishedApp(
        app_id="databricks-sql-python",
        client_id="databricks-sql-python",
        name="Databricks SQL Connector for Python",
        description="databricks-sql-connector U2M sign-in",
        redirect_urls=[f"http://localhost:{port}" for port in range(8020, 8025)],
    ),
    # databricks/dbt-databricks#582 shows this entry of the published-apps list verbatim.
    PublishedApp(
        app_id="8521f912-fcca-11ed-be56-0242ac120002",
        client_id="dbt-databricks",
        name="dbt adapter for Databricks",
        description="dbt adapter for Databricks",
        redirect_urls=["http://localhost:8050/"],
        scopes=["sql", "offline_access"],
    ),
]


def find(app_id: str) -> PublishedApp | None:
    return next((a for a in CATALOG if a.app_id == app_id), None)


def catalog_entry(app: PublishedApp) -> dict[str, object]:
    """One item of `GET /api/2.0/accounts/{id}/oauth2/published-apps` (sdk `PublishedAppOutput`)."""
    return {
        "app_id": app.app_id,
        "client_id": app.client_id,
        "name": app.name,
        "description": app.description,
        "is_confidential_client": False,
        "redirect_urls": list(app.redirect_urls),
        "scopes": list(app.scopes),
    }
