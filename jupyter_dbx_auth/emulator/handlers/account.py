"""Account console APIs: identity and service-principal OAuth secrets (OAuth apps:
`account_apps.py`).

They require an account-level token of an account admin, as on Databricks. Secrets are shown once,
on create; the list shows only a hash prefix.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone
from typing import Any

from ..oauth.models import SUPPORTED_SCOPES
from ..state import (
    MAX_SECRET_LIFETIME,
    MAX_SECRETS_PER_SP,
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
