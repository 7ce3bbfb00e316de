"""Step-1 surface: discovery, JWKS, client credentials, sign-in + PKCE, refresh, fault knobs."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from browser import SignInFailed, sign_in

from .helpers import CLI, LOOPBACK_REDIRECT, authorize_url, http, pkce_pair, query, token_url


def test_print_config_matches_harness(emulator):
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_dbx_auth.emulator", "--print-config"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    printed = json.loads(out)
    assert printed == emulator.config
    assert {u["username"] for u in printed["users"]} >= {"alice@example.com", "bob@example.com"}
    secrets = [sp["secret"] for sp in printed["service_principals"] if sp["secret"]]
    assert secrets and all(s.startswith("emu-") for s in secrets)
    assert any(sp["secret"] is None for sp in printed["service_principals"])


def test_discovery_documents(emulator):
    with http() as c:
        meta = c.get(f"{emulator.url}/.well-known/databricks-config").json()
        assert meta["account_id"] == emulator.account_id
        assert meta["workspace_id"] == emulator.workspace_id
        assert meta["cloud"] == "aws"
        account_doc = meta["oidc_endpoint"].replace("{account_id}", emulator.account_id)
        for doc_url in (
            f"{emulator.url}/oidc/.well-known/oauth-authorization-server",
            f"{account_doc}/.well-known/oauth-authorization-server",
        ):
            doc = c.get(doc_url).json()
            assert doc["code_challenge_methods_supported"] == ["S256"]
            assert doc["token_endpoint"].startswith(doc["issuer"])
            keys = c.get(doc["jwks_uri"]).json()["keys"]
            assert keys[0]["kty"] == "RSA" and "d" not in keys[0]


def test_client_credentials_basic_and_form(emulator):
    sp = emulator.service_principal("emulator-etl-sp")
    with http() as c:
        basic = c.post(
            token_url(emulator),
            data={"grant_type": "client_credentials", "scope": "all-apis"},
            auth=(sp["client_id"], sp["secret"]),
        )
        form = c.post(
            token_url(emulator, account=False),
            data={
                "grant_type": "client_credentials",
                "client_id": sp["client_id"],
                "client_secret": sp["secret"],
            },
        )
        wrong = c.post(
            token_url(emulator),
            data={"grant_type": "client_credentials"},
            auth=(sp["client_id"], "emu-wrong"),
        )
    assert basic.status_code == 200 and form.status_code == 200
    assert basic.json()["token_type"] == "Bearer" and "refresh_token" not in basic.json()
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert emulator.token_requests() == {"client_credentials": 3}


def test_u2m_sign_in_code_and_refresh(emulator):
    verifier, challenge = pkce_pair()
    location = sign_in(
        authorize_url(emulator, challenge=challenge), "alice@example.com", "alice-demo-password"
    )
    assert location.startswith(LOOPBACK_REDIRECT)
    params = query(location)
    assert params["state"] == "st-123"
    with http() as c:
        tokens = c.post(
            token_url(emulator),
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": LOOPBACK_REDIRECT,
                "code_verifier": verifier,
                "client_id": CLI,
            },
        ).json()
        me = c.get(
            f"{emulator.url}/api/2.0/preview/scim/v2/Me",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        ).json()
        refreshed = c.post(
            token_url(emulator),
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": CLI,
            },
        )
    assert me["userName"] == "alice@example.com"
    assert refreshed.status_code == 200 and refreshed.json()["access_token"]


def test_wrong_password_is_refused(emulator):
    _, challenge = pkce_pair()
    with pytest.raises(SignInFailed, match="Incorrect"):
        sign_in(authorize_url(emulator, challenge=challenge), "alice@example.com", "nope")


def test_idp_down_drops_connections(emulator):
    emulator.set_down(True)
    with http() as c, pytest.raises(httpx.TransportError):
        c.post(token_url(emulator), data={"grant_type": "client_credentials"})
    emulator.set_down(False)
    with http() as c:
        assert c.post(token_url(emulator), data={"grant_type": "x"}).status_code == 400


def test_expires_in_is_the_hour_and_never_outlives_the_jwt_exp(emulator):
    """`expires_in` is 3600 for an hour-long token, as Databricks answers; `exp` is rounded up
    so a client adding it to a clock read before the request never passes `exp`."""
    import time

    import httpx
    import jwt

    sp = emulator.service_principal("emulator-etl-sp")
    for _ in range(5):
        before = time.time()
        r = httpx.post(
            f"{emulator.url}/oidc/v1/token",
            data={"grant_type": "client_credentials", "scope": "all-apis"},
            auth=(sp["client_id"], sp["secret"]),
        )
        assert r.status_code == 200, r.text
        body = r.json()
        claims = jwt.decode(body["access_token"], options={"verify_signature": False})
        assert body["expires_in"] == 3600
        assert before + body["expires_in"] <= claims["exp"]
        assert claims["exp"] - claims["iat"] in (3600, 3601)
        time.sleep(0.13)
