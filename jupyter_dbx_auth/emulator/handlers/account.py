"""Account console APIs: service-principal OAuth secrets and custom OAuth app integrations.

Both require an account-level token of an account admin, as on Databricks. Secrets are shown once,
on create; the list shows only a hash prefix.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from ..oauth.models import SUPPORTED_SCOPES
from ..state import (
    DEFAULT_REFRESH_TTL_MINUTES,
    MAX_SECRET_LIFETIME,
    MAX_SECRETS_PER_SP,
    OAuthApp,
    ServicePrincipal,
    SpSecret,
    hash_secret,
    new_secret,
)
from .base import Caller, DatabricksError, EmulatorHandler
from .workspace import scim_list, scim_sp

LIFETIME = re.compile(r"^(\d{1,12})(?:\.\d+)?s$")


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def bad(message: str) -> DatabricksError:
    return DatabricksError(400, "INVALID_PARAMETER_VALUE", message)


class AccountHandler(EmulatorHandler):
    def prepare_account(self, account_id: str) -> Caller:
        if account_id != self.state.account_id:
            raise DatabricksError(404, "RESOURCE_DOES_NOT_EXIST", "No such account.")
        return self.authenticate(account=True)

    def service_principal(self, sp_id: str) -> ServicePrincipal:
        sp = self.state.sp_by_id(sp_id)
        if sp is None:
            raise DatabricksError(404, "RESOURCE_DOES_NOT_EXIST", f"No service principal {sp_id}.")
        return sp


class AccountMeHandler(AccountHandler):
    def get(self, account_id: str) -> None:
        caller = self.prepare_account(account_id)
        principal = caller.principal
        body: dict[str, Any] = (
            scim_sp(principal)
            if isinstance(principal, ServicePrincipal)
            else {"id": principal.id, "userName": principal.username}
        )
        self.write_json(200, body)


class AccountServicePrincipalsHandler(AccountHandler):
    def get(self, account_id: str) -> None:
        self.prepare_account(account_id)
        resources = [scim_sp(sp) for sp in self.state.service_principals.values()]
        self.write_json(200, scim_list(self, resources))


def secret_info(s: SpSecret) -> dict[str, Any]:
    return {
        "id": s.id,
        "secret_hash": s.secret_hash[:8],
        "create_time": iso(s.create_time),
        "update_time": iso(s.create_time),
        "expire_time": iso(s.expire_time),
        "status": "ACTIVE",
        "scopes": list(s.scopes),
    }


class SecretsHandler(AccountHandler):
    def get(self, account_id: str, sp_id: str) -> None:
        self.prepare_account(account_id)
        sp = self.service_principal(sp_id)
        now = self.state.now()
        self.write_json(200, {"secrets": [secret_info(s) for s in sp.secrets if s.is_active(now)]})

    def post(self, account_id: str, sp_id: str) -> None:
        self.prepare_account(account_id)
        sp = self.service_principal(sp_id)
        body = self.json_body()
        lifetime = _lifetime(body.get("lifetime"))
        scopes = body.get("scopes") or ["all-apis"]
        if not isinstance(scopes, list) or not set(scopes) <= set(SUPPORTED_SCOPES):
            raise bad(f"scopes must be a subset of {SUPPORTED_SCOPES}.")
        now = self.state.now()
        sp.secrets = [s for s in sp.secrets if s.is_active(now)]
        if len(sp.secrets) >= MAX_SECRETS_PER_SP:
            raise DatabricksError(
                400,
                "RESOURCE_LIMIT_EXCEEDED",
                f"A service principal can have at most {MAX_SECRETS_PER_SP} OAuth secrets. "
                "Delete an old secret first.",
            )
        value = new_secret("emu-")
        record = SpSecret(
            id=secrets.token_hex(8),
            secret_hash=hash_secret(value),
            create_time=now,
            expire_time=now + lifetime,
            scopes=list(scopes),
        )
        sp.secrets.append(record)
        self.write_json(200, {**secret_info(record), "secret": value})


def _lifetime(raw: object) -> int:
    if raw is None:
        return MAX_SECRET_LIFETIME
    match = LIFETIME.match(raw) if isinstance(raw, str) else None
    if not match:
        raise bad("lifetime must be a duration in seconds, like '3600s'.")
    seconds = int(match.group(1))
    if not 0 < seconds <= MAX_SECRET_LIFETIME:
        raise bad("lifetime must be between 1 second and 730 days (63072000s).")
    return seconds


class SecretHandler(AccountHandler):
    def delete(self, account_id: str, sp_id: str, secret_id: str) -> None:
        self.prepare_account(account_id)
        sp = self.service_principal(sp_id)
        remaining = [s for s in sp.secrets if s.id != secret_id]
        if len(remaining) == len(sp.secrets):
            raise DatabricksError(404, "RESOURCE_DOES_NOT_EXIST", f"No secret {secret_id}.")
        sp.secrets = remaining
        self.write_json(200, {})


def app_info(app: OAuthApp) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "refresh_token_ttl_in_minutes": app.refresh_token_ttl_minutes,
        "enable_single_use_refresh_tokens": app.single_use_refresh_tokens,
    }
    if app.access_token_ttl_minutes:
        policy["access_token_ttl_in_minutes"] = app.access_token_ttl_minutes
    return {
        "integration_id": app.integration_id,
        "client_id": app.client_id,
        "name": app.name,
        "confidential": app.confidential,
        "redirect_urls": list(app.redirect_urls),
        "scopes": list(app.scopes),
        "token_access_policy": policy,
        "create_time": iso(app.create_time),
    }


def _redirect_urls(raw: object) -> list[str]:
    if not isinstance(raw, list) or not raw:
        raise bad("redirect_urls must be a non-empty list of URLs.")
    for url in raw:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise bad(f"Invalid redirect URL: {url!r}.")
        if parts.fragment:
            raise bad("Redirect URLs must not contain a fragment.")
    return list(raw)


def _ttl(policy: dict[str, Any], name: str, low: int, high: int, default: int | None) -> int | None:
    value = policy.get(name, default)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise bad(f"token_access_policy.{name} must be between {low} and {high} minutes.")
    return value


def build_app(body: dict[str, Any], now: float) -> tuple[OAuthApp, str | None]:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad("name is required.")
    scopes = body.get("scopes") or ["all-apis", "offline_access"]
    if not isinstance(scopes, list) or not set(scopes) <= set(SUPPORTED_SCOPES):
        raise bad(f"scopes must be a subset of {SUPPORTED_SCOPES}.")
    policy = body.get("token_access_policy") or {}
    if not isinstance(policy, dict):
        raise bad("token_access_policy must be an object.")
    confidential = bool(body.get("confidential", False))
    secret = new_secret("emu-") if confidential else None
    app = OAuthApp(
        client_id=str(uuid.uuid4()),
        integration_id=str(uuid.uuid4()),
        name=name.strip(),
        confidential=confidential,
        redirect_urls=_redirect_urls(body.get("redirect_urls")),
        scopes=list(dict.fromkeys(scopes)),
        client_secret_hash=hash_secret(secret) if secret else None,
        access_token_ttl_minutes=_ttl(policy, "access_token_ttl_in_minutes", 5, 1440, None),
        refresh_token_ttl_minutes=_ttl(
            policy,
            "refresh_token_ttl_in_minutes",
            5,
            DEFAULT_REFRESH_TTL_MINUTES,
            DEFAULT_REFRESH_TTL_MINUTES,
        )
        or DEFAULT_REFRESH_TTL_MINUTES,
        single_use_refresh_tokens=bool(policy.get("enable_single_use_refresh_tokens", False)),
        create_time=now,
    )
    return app, secret


class CustomAppsHandler(AccountHandler):
    def get(self, account_id: str) -> None:
        self.prepare_account(account_id)
        apps = [app_info(a) for a in self.state.apps.values() if a.integration_id]
        self.write_json(200, {"apps": apps})

    def post(self, account_id: str) -> None:
        self.prepare_account(account_id)
        app, secret = build_app(self.json_body(), self.state.now())
        self.state.apps[app.client_id] = app
        body = {"integration_id": app.integration_id, "client_id": app.client_id}
        if secret:
            body["client_secret"] = secret
        self.write_json(200, body)


class CustomAppHandler(AccountHandler):
    def find(self, integration_id: str) -> OAuthApp:
        for app in self.state.apps.values():
            if app.integration_id and app.integration_id == integration_id:
                return app
        raise DatabricksError(
            404, "RESOURCE_DOES_NOT_EXIST", f"No custom app integration {integration_id}."
        )

    def get(self, account_id: str, integration_id: str) -> None:
        self.prepare_account(account_id)
        self.write_json(200, app_info(self.find(integration_id)))

    def delete(self, account_id: str, integration_id: str) -> None:
        self.prepare_account(account_id)
        app = self.find(integration_id)
        del self.state.apps[app.client_id]
        self.write_json(200, {})
