"""Account console APIs for OAuth apps: the published-app catalog, published and custom app
integrations. Request and response shapes follow databricks-sdk-py `service/oauth2.py`
(`OAuthPublishedAppsAPI`, `PublishedAppIntegrationAPI`, `CustomAppIntegrationAPI`).

Deleting an integration removes the app from the account: sign-in with it stops, refresh fails
with `invalid_client` and its access tokens are refused at once.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from .. import published
from ..oauth.models import SUPPORTED_SCOPES
from ..state import (
    DEFAULT_ACCESS_TTL_MINUTES,
    DEFAULT_REFRESH_TTL_MINUTES,
    MAX_REFRESH_TTL_MINUTES,
    OAuthApp,
    User,
    hash_secret,
    new_secret,
    new_uuid,
    published_app,
)
from .account import AccountHandler, bad, iso
from .base import Caller, DatabricksError

MAX_REDIRECT_URLS = 100  # sdk docstring of CustomAppIntegrationAPI.create
MAX_REDIRECT_URL_LENGTH = 256
MAX_PAGE_SIZE = 1000
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def not_found(what: str) -> DatabricksError:
    return DatabricksError(404, "RESOURCE_DOES_NOT_EXIST", f"No {what}.")


def policy_info(app: OAuthApp) -> dict[str, Any]:
    return {
        "access_token_ttl_in_minutes": app.access_token_ttl_minutes or DEFAULT_ACCESS_TTL_MINUTES,
        "refresh_token_ttl_in_minutes": app.refresh_token_ttl_minutes,
        "enable_single_use_refresh_tokens": app.single_use_refresh_tokens,
    }


def custom_info(app: OAuthApp, creator: str | None = None) -> dict[str, Any]:
    """sdk `GetCustomAppIntegrationOutput`."""
    body: dict[str, Any] = {
        "integration_id": app.integration_id,
        "client_id": app.client_id,
        "name": app.name,
        "confidential": app.confidential,
        "redirect_urls": list(app.redirect_urls),
        "scopes": list(app.scopes),
        "token_access_policy": policy_info(app),
        "create_time": iso(app.create_time),
        "created_by": app.created_by,
    }
    if app.user_authorized_scopes:
        body["user_authorized_scopes"] = list(app.user_authorized_scopes)
    if creator is not None:
        body["creator_username"] = creator
    return body


def published_info(app: OAuthApp) -> dict[str, Any]:
    """sdk `GetPublishedAppIntegrationOutput`."""
    return {
        "app_id": app.published_app_id,
        "integration_id": app.integration_id,
        "name": app.name,
        "token_access_policy": policy_info(app),
        "create_time": iso(app.create_time),
        "created_by": app.created_by,
    }


def page(handler: AccountHandler, items: list[dict[str, Any]]) -> dict[str, Any]:
    """`page_size` / `page_token` paging; the sdk stops when `next_page_token` is absent."""
    size_raw = handler.get_query_argument("page_size", None)
    token_raw = handler.get_query_argument("page_token", None)
    try:
        size = int(size_raw) if size_raw else MAX_PAGE_SIZE
        start = int(token_raw) if token_raw else 0
    except ValueError as exc:
        raise bad("page_size and page_token must come from this API.") from exc
    if not 1 <= size <= MAX_PAGE_SIZE or start < 0:
        raise bad(f"page_size must be between 1 and {MAX_PAGE_SIZE}.")
    body: dict[str, Any] = {"apps": items[start : start + size]}
    if start + size < len(items):
        body["next_page_token"] = str(start + size)
    return body


def redirect_urls(raw: object) -> list[str]:
    if not isinstance(raw, list) or not raw:
        raise bad("redirect_urls must be a non-empty list of URLs.")
    if len(raw) > MAX_REDIRECT_URLS:
        raise bad(f"At most {MAX_REDIRECT_URLS} redirect URLs are allowed.")
    for url in raw:
        if not isinstance(url, str) or len(url) > MAX_REDIRECT_URL_LENGTH:
            raise bad(f"Each redirect URL must be a string of at most {MAX_REDIRECT_URL_LENGTH}.")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError as exc:
            raise bad(f"Invalid redirect URL: {url!r}.") from exc
        if not parts.hostname or parts.fragment or parts.username or parts.password:
            raise bad(f"Invalid redirect URL: {url!r}.")
        if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname)):
            raise bad(f"Redirect URL {url!r} must use https (http only for localhost).")
    return list(dict.fromkeys(raw))


def _loopback(hostname: str) -> bool:
    if hostname in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def scopes(raw: object, *, required: bool = True) -> list[str]:
    if raw is None and not required:
        return []
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        raise bad("scopes must be a non-empty list; at least one scope is required.")
    if not set(raw) <= set(SUPPORTED_SCOPES):
        raise bad(f"scopes must be a subset of {SUPPORTED_SCOPES}.")
    return list(dict.fromkeys(raw))


def apply_policy(app: OAuthApp, raw: object) -> None:
    """`token_access_policy`: when given, both TTLs are required (sdk docstring); the single-use
    setting keeps its value when omitted."""
    if raw is None:
        return
    if not isinstance(raw, dict):
        raise bad("token_access_policy must be an object.")
    access = raw.get("access_token_ttl_in_minutes")
    refresh = raw.get("refresh_token_ttl_in_minutes")
    if not _minutes(access) or not _minutes(refresh):
        raise bad(
            "token_access_policy needs both access_token_ttl_in_minutes and "
            "refresh_token_ttl_in_minutes, as whole minutes."
        )
    if not 5 <= access <= 1440:
        raise bad("token_access_policy.access_token_ttl_in_minutes must be 5 to 1440.")
    if not access <= refresh <= MAX_REFRESH_TTL_MINUTES:
        raise bad(
            "token_access_policy.refresh_token_ttl_in_minutes must be at least the access "
            f"token TTL and at most {MAX_REFRESH_TTL_MINUTES}."
        )
    app.access_token_ttl_minutes = access
    app.refresh_token_ttl_minutes = refresh
    single_use = raw.get("enable_single_use_refresh_tokens")
    if single_use is not None:
        app.single_use_refresh_tokens = bool(single_use)


def _minutes(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _creator(caller: Caller) -> int:
    return int(caller.principal.id) if caller.principal.id.isdigit() else 0


# -- the published-app catalog -----------------------------------------------------------------
class PublishedAppsHandler(AccountHandler):
    def get(self, account_id: str) -> None:
        self.prepare_account(account_id)
        self.write_json(200, page(self, [published.catalog_entry(a) for a in published.CATALOG]))


# -- published app integrations ----------------------------------------------------------------
class PublishedIntegrationsHandler(AccountHandler):
    def get(self, account_id: str) -> None:
        self.prepare_account(account_id)
        apps = [published_info(a) for a in self.state.apps.values() if a.published_app_id]
        self.write_json(200, page(self, apps))

    def post(self, account_id: str) -> None:
        caller = self.prepare_account(account_id)
        body = self.json_body()
        app_id = body.get("app_id")
        entry = published.find(app_id) if isinstance(app_id, str) else None
        if entry is None:
            raise not_found(f"published OAuth app {app_id!r}; see GET .../oauth2/published-apps")
        if entry.client_id in self.state.apps:
            raise DatabricksError(
                409,
                "RESOURCE_ALREADY_EXISTS",
                f"The published app {app_id} is already enabled in this account.",
            )
        app = published_app({"app_id": entry.app_id})
        app.create_time = self.state.now()
        app.created_by = _creator(caller)
        apply_policy(app, body.get("token_access_policy"))
        self.state.apps[app.client_id] = app
        self.write_json(200, {"integration_id": app.integration_id})


class PublishedIntegrationHandler(AccountHandler):
    def find(self, integration_id: str) -> OAuthApp:
        for app in self.state.apps.values():
            if app.published_app_id and app.integration_id == integration_id:
                return app
        raise not_found(f"published app integration {integration_id}")

    def get(self, account_id: str, integration_id: str) -> None:
        self.prepare_account(account_id)
        self.write_json(200, published_info(self.find(integration_id)))

    def patch(self, account_id: str, integration_id: str) -> None:
        self.prepare_account(account_id)
        app = self.find(integration_id)
        apply_policy(app, self.json_body().get("token_access_policy"))
        self.write_json(200, {})

    def delete(self, account_id: str, integration_id: str) -> None:
        self.prepare_account(account_id)
        self.state.remove_app(self.find(integration_id).client_id)
        self.write_json(200, {})


# -- custom app integrations -------------------------------------------------------------------
def build_custom_app(body: dict[str, Any], now: float, creator: int) -> tuple[OAuthApp, str | None]:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad("name is required.")  # optional in the sdk; the stricter choice
    confidential = body.get("confidential", False)
    if not isinstance(confidential, bool):
        raise bad("confidential must be true or false.")
    granted = scopes(body.get("scopes"))
    user_scopes = scopes(body.get("user_authorized_scopes"), required=False)
    if not set(user_scopes) <= set(granted):
        raise bad("user_authorized_scopes must be a subset of scopes.")
    secret = new_secret("emu-") if confidential else None
    app = OAuthApp(
        client_id=new_uuid(),
        integration_id=new_uuid(),
        name=name.strip(),
        confidential=confidential,
        redirect_urls=redirect_urls(body.get("redirect_urls")),
        scopes=granted,
        client_secret_hash=hash_secret(secret) if secret else None,
        refresh_token_ttl_minutes=DEFAULT_REFRESH_TTL_MINUTES,
        create_time=now,
        user_authorized_scopes=user_scopes,
        created_by=creator,
    )
    apply_policy(app, body.get("token_access_policy"))
    return app, secret


class CustomAppsHandler(AccountHandler):
    def get(self, account_id: str) -> None:
        self.prepare_account(account_id)
        with_creator = self.get_query_argument("include_creator_username", "") == "true"
        apps = [
            custom_info(a, self._creator_name(a) if with_creator else None)
            for a in self.state.apps.values()
            if a.integration_id and not a.published_app_id
        ]
        self.write_json(200, page(self, apps))

    def _creator_name(self, app: OAuthApp) -> str:
        user = self.state.user_by_id(str(app.created_by))
        if isinstance(user, User):
            return user.username
        sp = self.state.sp_by_id(str(app.created_by))
        return sp.application_id if sp else ""

    def post(self, account_id: str) -> None:
        caller = self.prepare_account(account_id)
        app, secret = build_custom_app(self.json_body(), self.state.now(), _creator(caller))
        self.state.apps[app.client_id] = app
        body = {"integration_id": app.integration_id, "client_id": app.client_id}
        if secret:
            body["client_secret"] = secret
        self.write_json(200, body)


class CustomAppHandler(AccountHandler):
    def find(self, integration_id: str) -> OAuthApp:
        for app in self.state.apps.values():
            if app.integration_id == integration_id and not app.published_app_id:
                return app
        raise not_found(f"custom app integration {integration_id}")

    def get(self, account_id: str, integration_id: str) -> None:
        self.prepare_account(account_id)
        self.write_json(200, custom_info(self.find(integration_id)))

    def patch(self, account_id: str, integration_id: str) -> None:
        self.prepare_account(account_id)
        app = self.find(integration_id)
        body = self.json_body()
        # Validate everything before changing anything: a refused update changes nothing.
        urls = redirect_urls(body["redirect_urls"]) if "redirect_urls" in body else None
        granted = scopes(body["scopes"]) if "scopes" in body else app.scopes
        user_scopes = (
            scopes(body["user_authorized_scopes"], required=False)
            if "user_authorized_scopes" in body
            else app.user_authorized_scopes
        )
        if not set(user_scopes) <= set(granted):
            raise bad("user_authorized_scopes must be a subset of scopes.")
        trial = dataclasses.replace(app)
        apply_policy(trial, body.get("token_access_policy"))
        app.access_token_ttl_minutes = trial.access_token_ttl_minutes
        app.refresh_token_ttl_minutes = trial.refresh_token_ttl_minutes
        app.single_use_refresh_tokens = trial.single_use_refresh_tokens
        if urls is not None:
            app.redirect_urls = urls
        app.scopes = list(granted)
        app.user_authorized_scopes = list(user_scopes)
        self.write_json(200, {})

    def delete(self, account_id: str, integration_id: str) -> None:
        self.prepare_account(account_id)
        self.state.remove_app(self.find(integration_id).client_id)
        self.write_json(200, {})
