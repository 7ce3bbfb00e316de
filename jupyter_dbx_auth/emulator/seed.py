"""The seed: who exists in the emulated account when it starts (and after every reset).

The seed is plain JSON so `--state FILE` can replace it and `--print-config` can show it. Every
value here is fake on purpose: secrets start with `emu-` so a leak scanner (and a reader) can tell
them from real Databricks secrets, which start with `dose`.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

Seed = dict[str, Any]

# The issuer the default federation policies trust. Its signing key is not in the seed: the test
# harness (or whoever runs the emulator) generates one and passes its public JWKS via `--state`.
TEST_OIDC_ISSUER = "https://oidc.test-issuer.example"

DEFAULT_SEED: Seed = {
    "account_id": "a1b2c3d4-0000-4000-8000-000000000e01",
    "workspace_id": "1234567890123456",
    "workspace_name": "emulator-workspace",
    "cloud": "aws",
    "users": [
        {
            "id": "1000000000000001",
            "username": "alice@example.com",
            "display_name": "Alice Example",
            "password": "alice-demo-password",
            "account_admin": True,
        },
        {
            "id": "1000000000000002",
            "username": "bob@example.com",
            "display_name": "Bob Example",
            "password": "bob-demo-password",
            "account_admin": False,
        },
    ],
    "service_principals": [
        {
            "id": "2000000000000001",
            "application_id": "5e1f0c1a-7d2b-4c3e-9f10-00000000a001",
            "display_name": "emulator-admin-sp",
            "account_admin": True,
            "secrets": ["emu-sp-admin-secret-0000000000000001"],
        },
        {
            "id": "2000000000000002",
            "application_id": "5e1f0c1a-7d2b-4c3e-9f10-00000000a002",
            "display_name": "emulator-etl-sp",
            "account_admin": False,
            "secrets": ["emu-sp-etl-secret-0000000000000002"],
        },
        {
            "id": "2000000000000003",
            "application_id": "5e1f0c1a-7d2b-4c3e-9f10-00000000a003",
            "display_name": "emulator-federated-sp",
            "account_admin": False,
            "secrets": [],
        },
    ],
    # Published apps enabled in the account (catalog: published.py). Databricks enables its
    # partner apps by default; deleting an integration disables the app for the account.
    "published_app_integrations": [
        {"app_id": "databricks-cli", "integration_id": "0b1f5c2e-2222-4b2b-9b2b-00000000e001"},
        {
            "app_id": "databricks-sql-python",
            "integration_id": "0b1f5c2e-2222-4b2b-9b2b-00000000e002",
        },
        {
            "app_id": "8521f912-fcca-11ed-be56-0242ac120002",
            "integration_id": "0b1f5c2e-2222-4b2b-9b2b-00000000e003",
        },
    ],
    # Custom app integrations: redirect URLs match exactly, as on Databricks.
    "oauth_apps": [
        {
            "client_id": "7c0b5e0e-1111-4a1a-8a1a-00000000c001",
            "integration_id": "7c0b5e0e-1111-4a1a-8a1a-000000000d01",
            "name": "jupyter-dbx-auth (confidential)",
            "confidential": True,
            "client_secret": "emu-app-secret-0000000000000001",
            "redirect_urls": [
                "http://127.0.0.1:8888/dbx-auth/callback",
                "http://localhost:8888/dbx-auth/callback",
            ],
            "scopes": ["all-apis", "offline_access", "sql", "openid", "email", "profile"],
            "token_access_policy": {},
        },
        {
            "client_id": "7c0b5e0e-1111-4a1a-8a1a-00000000c002",
            "integration_id": "7c0b5e0e-1111-4a1a-8a1a-000000000d02",
            "name": "jupyter-dbx-auth (public)",
            "confidential": False,
            "redirect_urls": [
                "http://127.0.0.1:8888/dbx-auth/callback",
                "http://localhost:8888/dbx-auth/callback",
            ],
            "scopes": ["all-apis", "offline_access", "sql", "openid", "email", "profile"],
            "token_access_policy": {"enable_single_use_refresh_tokens": True},
        },
    ],
    "federation_policies": [
        {
            # Per-service-principal policy: tokens exchanged with client_id = this SP.
            "id": "fp-sp-0001",
            "name": "k8s-workload",
            "service_principal": "5e1f0c1a-7d2b-4c3e-9f10-00000000a003",
            "oidc_policy": {
                "issuer": TEST_OIDC_ISSUER,
                "audiences": ["a1b2c3d4-0000-4000-8000-000000000e01"],
                "subject": "system:serviceaccount:team:notebook",
                "subject_claim": "sub",
                "jwks_json": None,
            },
        },
        {
            # Account-wide policy: no client_id; the subject claim names the Databricks user.
            "id": "fp-acct-0001",
            "name": "account-wide",
            "service_principal": None,
            "oidc_policy": {
                "issuer": TEST_OIDC_ISSUER,
                "audiences": ["a1b2c3d4-0000-4000-8000-000000000e01"],
                "subject_claim": "email",
                "jwks_json": None,
            },
        },
    ],
    "clusters": [
        {"cluster_id": "0101-000000-emu00001", "cluster_name": "shared-autoscaling"},
    ],
    "warehouses": [
        {"id": "emu0000000000001", "name": "Starter Warehouse"},
    ],
}


def default_seed() -> Seed:
    """A fresh copy: callers may mutate it (the harness fills in the test issuer's JWKS)."""
    return copy.deepcopy(DEFAULT_SEED)


def load_seed(source: Seed | str | Path | None) -> Seed:
    """Seed from a dict, a JSON file path, or the default."""
    if source is None:
        return default_seed()
    if isinstance(source, dict):
        return copy.deepcopy(source)
    data = json.loads(Path(source).read_text())
    if not isinstance(data, dict):
        raise ValueError(f"seed file {source} must hold a JSON object")
    return data


def public_config(seed: Seed) -> dict[str, Any]:
    """What `--print-config` prints: enough for a test or a person to sign in and connect."""
    return {
        "account_id": seed["account_id"],
        "workspace_id": str(seed["workspace_id"]),
        "cloud": seed.get("cloud", "aws"),
        "users": [
            {"username": u["username"], "password": u["password"], "id": u["id"]}
            for u in seed.get("users", [])
        ],
        "service_principals": [
            {
                "id": sp["id"],
                "display_name": sp["display_name"],
                "client_id": sp["application_id"],
                "secret": (sp.get("secrets") or [None])[0],
                "account_admin": bool(sp.get("account_admin")),
            }
            for sp in seed.get("service_principals", [])
        ],
        "oauth_apps": [
            {
                "client_id": app["client_id"],
                "name": app["name"],
                "confidential": bool(app.get("confidential")),
                "client_secret": app.get("client_secret"),
                "redirect_urls": list(app.get("redirect_urls", [])),
                "single_use_refresh_tokens": bool(
                    (app.get("token_access_policy") or {}).get("enable_single_use_refresh_tokens")
                ),
            }
            for app in seed.get("oauth_apps", [])
        ],
        "published_apps": [
            {"app_id": p["app_id"], "integration_id": p["integration_id"]}
            for p in seed.get("published_app_integrations", [])
        ],
        "federation_policies": [
            {
                "id": p["id"],
                "name": p["name"],
                "service_principal": p.get("service_principal"),
                "issuer": p["oidc_policy"]["issuer"],
                "audiences": list(p["oidc_policy"].get("audiences") or []),
                "subject": p["oidc_policy"].get("subject"),
                "subject_claim": p["oidc_policy"].get("subject_claim", "sub"),
            }
            for p in seed.get("federation_policies", [])
        ],
        # An HTTP path goes after the emulator URL (which already ends with any --base-path).
        "warehouses": [
            {
                "id": str(w["id"]),
                "name": w.get("name", w["id"]),
                "state": str(w.get("state", "RUNNING")).upper(),
                "http_path": f"/sql/1.0/warehouses/{w['id']}",
            }
            for w in seed.get("warehouses", [])
        ],
    }
