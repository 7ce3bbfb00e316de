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
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .seed import Seed, load_seed

# Databricks' documented defaults for custom app integrations.
DEFAULT_REFRESH_TTL_MINUTES = 90 * 24 * 60
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
    loopback_redirects: bool = False
    integration_id: str | None = None
    access_token_ttl_minutes: int | None = None
    refresh_token_ttl_minutes: int = DEFAULT_REFRESH_TTL_MINUTES
    single_use_refresh_tokens: bool = False
    create_time: float = 0.0


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
        # jti -> subject of every access token issued since the last reset. A token whose jti
        # is not here was issued before a reset or revoked: it is refused.
        self.issued: dict[str, str] = {}
        self.users = {u["username"]: _user(u) for u in seed.get("users", [])}
        self.service_principals = {
            sp["application_id"]: _service_principal(sp, self.now())
            for sp in seed.get("service_principals", [])
        }
        self.apps = {a["client_id"]: _app(a) for a in seed.get("oauth_apps", [])}
        self.policies = [_policy(p) for p in seed.get("federation_policies", [])]
        self.clusters: list[dict[str, Any]] = list(seed.get("clusters", []))
        self.warehouses: list[dict[str, Any]] = list(seed.get("warehouses", []))

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
        self.issued = {jti: sub for jti, sub in self.issued.items() if sub != subject}
        for rt in self.refresh_tokens.values():
            if rt.subject == subject:
                rt.revoked = True

    def is_token_live(self, jti: str, subject: str) -> bool:
        return self.issued.get(jti) == subject


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
        loopback_redirects=bool(raw.get("loopback_redirects")),
        integration_id=raw.get("integration_id"),
        access_token_ttl_minutes=policy.get("access_token_ttl_in_minutes"),
        refresh_token_ttl_minutes=policy.get(
            "refresh_token_ttl_in_minutes", DEFAULT_REFRESH_TTL_MINUTES
        ),
        single_use_refresh_tokens=bool(policy.get("enable_single_use_refresh_tokens")),
        create_time=time.time(),
    )


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
