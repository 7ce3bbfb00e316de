"""Everything the emulator knows at run time: identities, apps, issued credentials and faults.

One `EmulatorState` per process, built from the seed and rebuilt by `reset()`. Secrets are kept
only as SHA-256 hashes (as Databricks does: a secret is shown once, on create), so a dump of this
object cannot leak one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from . import published
from .seed import Seed, load_seed
from .sql.state import SqlState

# Databricks' documented defaults for app integrations (databricks-sdk-py service/oauth2.py,
# CustomAppIntegrationAPI.create): access tokens 60 minutes, refresh tokens 7 days.
DEFAULT_ACCESS_TTL_MINUTES = 60
DEFAULT_REFRESH_TTL_MINUTES = 7 * 24 * 60
MAX_REFRESH_TTL_MINUTES = 90 * 24 * 60
AUTHORIZATION_CODE_TTL = 300  # seconds; RFC 6749 §4.1.2 recommends at most 10 minutes
MAX_SECRETS_PER_SP = 5
MAX_SECRET_LIFETIME = 730 * 24 * 3600


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def secret_matches(value: str, digest: str) -> bool:
    return hmac.compare_digest(hash_secret(value), digest)


def new_secret(prefix: str = "emu-") -> str:
    return prefix + secrets.token_urlsafe(32)


def new_numeric_id() -> str:
    return str(secrets.randbelow(9 * 10**15) + 10**15)


@dataclass
class User:
    id: str
    username: str
    display_name: str
    password_hash: str
    account_admin: bool = False

    @property
    def subject(self) -> str:
        return self.username


@dataclass
class SpSecret:
    id: str
    secret_hash: str
    create_time: float
    expire_time: float
    scopes: list[str] = field(default_factory=list)

    def is_active(self, now: float) -> bool:
        return now < self.expire_time


@dataclass
class ServicePrincipal:
    id: str
    application_id: str
    display_name: str
    account_admin: bool = False
    secrets: list[SpSecret] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return self.application_id


@dataclass
class OAuthApp:
    client_id: str
    name: str
    confidential: bool
    redirect_urls: list[str]
    scopes: list[str]
    client_secret_hash: str | None = None
    integration_id: str | None = None
    access_token_ttl_minutes: int | None = None
    refresh_token_ttl_minutes: int = DEFAULT_REFRESH_TTL_MINUTES
    single_use_refresh_tokens: bool = False
    create_time: float = 0.0
    # A published app (databricks-cli, ...) enabled through a published app integration; its
    # redirect URLs come from the catalog, not from the account admin.
    published_app_id: str | None = None
    user_authorized_scopes: list[str] = field(default_factory=list)
    created_by: int = 0  # SCIM id of the admin who created it; 0 = the seed ("system")


@dataclass
class FederationPolicy:
    id: str
    name: str
    issuer: str
    audiences: list[str]
    subject_claim: str
    subject: str | None = None
    service_principal: str | None = None  # application id; None = account-wide
    jwks: dict[str, Any] | None = None


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    username: str
    issuer: str
    code_challenge: str
    code_challenge_method: str
    expires_at: float


@dataclass
class RefreshToken:
    token_hash: str
    client_id: str
    subject: str
    scope: str
    issuer: str
    expires_at: float
    revoked: bool = False


@dataclass
class Faults:
    latency: float = 0.0
    fail_next: int = 0
    fail_status: int = 503
    fail_retry_after: float | None = None
    down: bool = False
    clock_offset: float = 0.0


class EmulatorState:
    def __init__(self, seed: Seed | None = None, *, token_ttl: int = 3600) -> None:
        self.seed: Seed = load_seed(seed)
        self.token_ttl = token_ttl
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------
    def reset(self) -> None:
        seed = self.seed
        self.account_id: str = seed["account_id"]
        self.workspace_id: str = str(seed["workspace_id"])
        self.workspace_name: str = seed.get("workspace_name", "emulator-workspace")
        self.cloud: str = seed.get("cloud", "aws")
        self.faults = Faults()
        self.token_requests: Counter[str] = Counter()
        self.codes: dict[str, AuthorizationCode] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        # jti -> (subject, client id) of every access token issued since the last reset. A token
        # whose jti is not here was issued before a reset, or revoked (its user, or its app
        # deleted): it is refused.
        self.issued: dict[str, tuple[str, str]] = {}
        self.users = {u["username"]: _user(u) for u in seed.get("users", [])}
        self.service_principals = {
            sp["application_id"]: _service_principal(sp, self.now())
            for sp in seed.get("service_principals", [])
        }
        self.apps = {a["client_id"]: _app(a) for a in seed.get("oauth_apps", [])}
        for raw in seed.get("published_app_integrations", []):
            app = published_app(raw)
            self.apps[app.client_id] = app
        self.policies = [_policy(p) for p in seed.get("federation_policies", [])]
        self.clusters: list[dict[str, Any]] = list(seed.get("clusters", []))
        self.sql = SqlState(list(seed.get("warehouses", [])), self.now)

    def sign_ins(self) -> list[dict[str, Any]]:
        """The live refresh tokens (hashes only), to carry across a restart (`--keep-sign-ins`)."""
        now = self.now()
        return [
            dataclasses.asdict(rt)
            for rt in self.refresh_tokens.values()
            if not rt.revoked and rt.expires_at > now
        ]

    def restore_sign_ins(self, saved: list[dict[str, Any]]) -> None:
        """Take back `sign_ins()` of an earlier run: what Databricks does across its restarts."""
        now = self.now()
        for raw in saved:
            rt = RefreshToken(**raw)
            if not rt.revoked and rt.expires_at > now and self.principal(rt.subject):
                self.refresh_tokens[rt.token_hash] = rt

    def now(self) -> float:
        """The emulator's clock: wall time shifted by the clock-offset fault knob."""
        return time.time() + self.faults.clock_offset

    # -- lookups -----------------------------------------------------------------------------
    def sp_by_id(self, scim_id: str) -> ServicePrincipal | None:
        return next((sp for sp in self.service_principals.values() if sp.id == scim_id), None)

    def user_by_id(self, scim_id: str) -> User | None:
        return next((u for u in self.users.values() if u.id == scim_id), None)

    def principal(self, subject: str) -> User | ServicePrincipal | None:
        return self.users.get(subject) or self.service_principals.get(subject)

    def check_password(self, username: str, password: str) -> User | None:
        user = self.users.get(username)
        # Compare even for unknown users so timing does not reveal which usernames exist.
        digest = user.password_hash if user else hash_secret("\0no-such-user")
        ok = secret_matches(password, digest)
        return user if (user and ok) else None

    # -- revocation --------------------------------------------------------------------------
    def revoke_subject(self, subject: str) -> None:
        self.issued = {jti: who for jti, who in self.issued.items() if who[0] != subject}
        for rt in self.refresh_tokens.values():
            if rt.subject == subject:
                rt.revoked = True

    def remove_app(self, client_id: str) -> None:
        """An app integration deleted (a published app disabled): its refresh tokens die with it
        and its access tokens stop working at once (stricter than waiting for their expiry)."""
        self.apps.pop(client_id, None)
        self.issued = {jti: who for jti, who in self.issued.items() if who[1] != client_id}
        for rt in self.refresh_tokens.values():
            if rt.client_id == client_id:
                rt.revoked = True

    def is_token_live(self, jti: str, subject: str) -> bool:
        who = self.issued.get(jti)
        return who is not None and who[0] == subject


def _user(raw: dict[str, Any]) -> User:
    return User(
        id=str(raw["id"]),
        username=raw["username"],
        display_name=raw.get("display_name", raw["username"]),
        password_hash=hash_secret(raw["password"]),
        account_admin=bool(raw.get("account_admin")),
    )


def _service_principal(raw: dict[str, Any], now: float) -> ServicePrincipal:
    return ServicePrincipal(
        id=str(raw["id"]),
        application_id=raw["application_id"],
        display_name=raw.get("display_name", raw["application_id"]),
        account_admin=bool(raw.get("account_admin")),
        secrets=[
            SpSecret(
                id=f"seed-{i}",
                secret_hash=hash_secret(value),
                create_time=now,
                expire_time=now + MAX_SECRET_LIFETIME,
                scopes=["all-apis"],
            )
            for i, value in enumerate(raw.get("secrets") or [])
        ],
    )


def _app(raw: dict[str, Any]) -> OAuthApp:
    policy = raw.get("token_access_policy") or {}
    secret = raw.get("client_secret")
    return OAuthApp(
        client_id=raw["client_id"],
        name=raw.get("name", raw["client_id"]),
        confidential=bool(raw.get("confidential")),
        redirect_urls=list(raw.get("redirect_urls") or []),
        scopes=list(raw.get("scopes") or ["all-apis", "offline_access"]),
        client_secret_hash=hash_secret(secret) if secret else None,
        integration_id=raw.get("integration_id"),
        access_token_ttl_minutes=policy.get("access_token_ttl_in_minutes"),
        refresh_token_ttl_minutes=policy.get(
            "refresh_token_ttl_in_minutes", DEFAULT_REFRESH_TTL_MINUTES
        ),
        single_use_refresh_tokens=bool(policy.get("enable_single_use_refresh_tokens")),
        create_time=time.time(),
        user_authorized_scopes=list(raw.get("user_authorized_scopes") or []),
    )


def published_app(raw: dict[str, Any]) -> OAuthApp:
    """A published app enabled in the account: catalog data plus the integration's policy."""
    entry = published.find(raw["app_id"])
    if entry is None:
        raise ValueError(f"unknown published app {raw['app_id']!r}")
    policy = raw.get("token_access_policy") or {}
    return OAuthApp(
        client_id=entry.client_id,
        name=entry.name,
        confidential=False,  # "always false for published OAuth apps" (sdk PublishedAppOutput)
        redirect_urls=list(entry.redirect_urls),
        scopes=list(entry.scopes),
        integration_id=raw.get("integration_id") or new_uuid(),
        access_token_ttl_minutes=policy.get("access_token_ttl_in_minutes"),
        refresh_token_ttl_minutes=policy.get(
            "refresh_token_ttl_in_minutes", DEFAULT_REFRESH_TTL_MINUTES
        ),
        single_use_refresh_tokens=bool(policy.get("enable_single_use_refresh_tokens")),
        create_time=time.time(),
        published_app_id=entry.app_id,
    )


def new_uuid() -> str:
    return str(uuid.uuid4())


def _policy(raw: dict[str, Any]) -> FederationPolicy:
    oidc = raw.get("oidc_policy") or {}
    jwks = oidc.get("jwks_json")
    if isinstance(jwks, str):
        import json

        jwks = json.loads(jwks)
    return FederationPolicy(
        id=raw["id"],
        name=raw.get("name", raw["id"]),
        issuer=oidc["issuer"],
        audiences=list(oidc.get("audiences") or []),
        subject_claim=oidc.get("subject_claim", "sub"),
        subject=oidc.get("subject"),
        service_principal=raw.get("service_principal"),
        jwks=jwks,
    )
