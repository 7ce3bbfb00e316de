"""Small helpers shared by the emulator tests (plain functions, no HTTP mocks)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from jupyter_dbx_auth.emulator.harness import EmulatorProcess

CLI = "databricks-cli"
LOOPBACK_REDIRECT = "http://localhost:8020"  # the only redirect of databricks-cli
DEMO_REDIRECT = "http://127.0.0.1:8888/dbx-auth/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def account_oidc(emu: EmulatorProcess) -> str:
    return f"{emu.url}/oidc/accounts/{emu.account_id}"


def authorize_url(
    emu: EmulatorProcess,
    *,
    client_id: str = CLI,
    redirect_uri: str = LOOPBACK_REDIRECT,
    challenge: str | None = None,
    scope: str = "all-apis offline_access",
    state: str = "st-123",
    account: bool = True,
    **extra: str,
) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "code_challenge_method": "S256",
        **extra,
    }
    if challenge is not None:
        params["code_challenge"] = challenge
    base = account_oidc(emu) if account else f"{emu.url}/oidc"
    return f"{base}/v1/authorize?{urlencode(params)}"


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def token_url(emu: EmulatorProcess, account: bool = True) -> str:
    return f"{account_oidc(emu) if account else emu.url + '/oidc'}/v1/token"


def http() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=10)
