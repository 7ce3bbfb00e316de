"""The real databricks-sdk against the emulator: M2M, account APIs, U2M consent, file-oidc."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import sign_in
from databricks.sdk import AccountClient, WorkspaceClient
from databricks.sdk.core import Config
from databricks.sdk.oauth import OAuthClient
from databricks.sdk.service.oauth2 import TokenAccessPolicy

from .helpers import DEMO_REDIRECT, LOOPBACK_REDIRECT, query

ALICE = ("alice@example.com", "alice-demo-password")


def m2m_workspace(emu, client_id: str, secret: str) -> WorkspaceClient:
    return WorkspaceClient(host=emu.url, client_id=client_id, client_secret=secret)


def admin_account_client(emu) -> AccountClient:
    sp = emu.service_principal("emulator-admin-sp")
    return AccountClient(
        host=emu.account_url,
        account_id=emu.account_id,
        client_id=sp["client_id"],
        client_secret=sp["secret"],
    )


def test_workspace_client_m2m_current_user(emulator):
    sp = emulator.service_principal("emulator-etl-sp")
    w = m2m_workspace(emulator, sp["client_id"], sp["secret"])
    me = w.current_user.me()
    assert w.config.auth_type == "oauth-m2m"
    assert me.display_name == "emulator-etl-sp"
    assert [c.cluster_name for c in w.clusters.list()] == ["shared-autoscaling"]
    assert [wh.name for wh in w.warehouses.list()] == ["Starter Warehouse"]


def test_account_client_m2m_me_and_principals(emulator):
    a = admin_account_client(emulator)
    me = a.api_client.do("GET", f"/api/2.0/accounts/{emulator.account_id}/scim/v2/Me")
    assert me["applicationId"] == emulator.service_principal("emulator-admin-sp")["client_id"]
    names = {sp.display_name for sp in a.service_principals.list()}
    assert "emulator-etl-sp" in names


def test_account_client_creates_secret_that_works_for_m2m(emulator):
    a = admin_account_client(emulator)
    etl = emulator.service_principal("emulator-etl-sp")
    created = a.service_principal_secrets.create(service_principal_id=etl["id"], lifetime="3600s")
    assert created.secret.startswith("emu-")
    listed = list(a.service_principal_secrets.list(service_principal_id=etl["id"]))
    assert created.id in {s.id for s in listed}
    assert all(getattr(s, "secret", None) is None for s in listed)  # shown only on create

    w = m2m_workspace(emulator, etl["client_id"], created.secret)
    assert w.current_user.me().display_name == "emulator-etl-sp"

    a.service_principal_secrets.delete(service_principal_id=etl["id"], secret_id=created.id)
    with pytest.raises(ValueError, match="invalid_client"):
        m2m_workspace(emulator, etl["client_id"], created.secret).current_user.me()


def test_account_client_custom_app_integration_then_u2m(emulator):
    a = admin_account_client(emulator)
    created = a.custom_app_integration.create(
        name="notebook-app",
        redirect_urls=[DEMO_REDIRECT],
        confidential=True,
        scopes=["all-apis", "offline_access"],
        token_access_policy=TokenAccessPolicy(
            access_token_ttl_in_minutes=15,
            refresh_token_ttl_in_minutes=60,
            enable_single_use_refresh_tokens=True,
        ),
    )
    got = a.custom_app_integration.get(created.integration_id)
    assert got.redirect_urls == [DEMO_REDIRECT] and got.confidential
    assert got.token_access_policy.enable_single_use_refresh_tokens is True

    client = OAuthClient.from_host(
        emulator.url,
        client_id=created.client_id,
        client_secret=created.client_secret,
        redirect_url=DEMO_REDIRECT,
    )
    consent = client.initiate_consent()
    creds = consent.exchange_callback_parameters(query(sign_in(consent.authorization_url, *ALICE)))
    assert 0 < (creds.token().expiry.timestamp() - __import__("time").time()) <= 15 * 60
    w = WorkspaceClient(host=emulator.url, credentials_strategy=creds)
    assert w.current_user.me().user_name == "alice@example.com"

    a.custom_app_integration.delete(created.integration_id)
    with pytest.raises(ValueError, match="invalid_client"):
        creds.refresh()


def test_oauth_client_consent_u2m_and_refresh(emulator):
    client = OAuthClient.from_host(
        emulator.url, client_id="databricks-cli", redirect_url=LOOPBACK_REDIRECT
    )
    consent = client.initiate_consent()
    creds = consent.exchange_callback_parameters(query(sign_in(consent.authorization_url, *ALICE)))
    first = creds.token()
    assert first.refresh_token
    w = WorkspaceClient(host=emulator.url, credentials_strategy=creds)
    assert w.current_user.me().user_name == "alice@example.com"
    again = creds.refresh()
    assert again.access_token != first.access_token
    # databricks-cli keeps refresh tokens reusable (no single-use policy).
    assert creds.refresh().access_token


def test_single_use_refresh_token_rejected_after_use(emulator):
    public_app = next(
        app for app in emulator.config["oauth_apps"] if app["single_use_refresh_tokens"]
    )
    client = OAuthClient.from_host(
        emulator.url, client_id=public_app["client_id"], redirect_url=DEMO_REDIRECT
    )
    consent = client.initiate_consent()
    creds = consent.exchange_callback_parameters(query(sign_in(consent.authorization_url, *ALICE)))
    old = creds.token().refresh_token
    rotated = creds.refresh()
    assert rotated.refresh_token and rotated.refresh_token != old

    from databricks.sdk.oauth import retrieve_token

    with pytest.raises(ValueError, match="invalid_grant"):
        retrieve_token(
            client_id=public_app["client_id"],
            client_secret=None,
            token_url=consent.as_dict()["token_endpoint"],
            params={"grant_type": "refresh_token", "refresh_token": old},
            use_params=True,
        )


def _file_oidc(emu, tmp_path: Path, token: str, client_id: str | None) -> WorkspaceClient:
    path = tmp_path / "token.jwt"
    path.write_text(token)
    kwargs = {"client_id": client_id} if client_id else {}
    cfg = Config(host=emu.url, auth_type="file-oidc", oidc_token_filepath=str(path), **kwargs)
    return WorkspaceClient(config=cfg)


def federated_sp(emu) -> str:
    return emu.service_principal("emulator-federated-sp")["client_id"]


def test_file_oidc_exchanges_trusted_jwt(emulator, tmp_path):
    w = _file_oidc(emulator, tmp_path, emulator.issue_test_oidc_token(), federated_sp(emulator))
    assert w.current_user.me().display_name == "emulator-federated-sp"
    assert emulator.token_requests() == {"urn:ietf:params:oauth:grant-type:token-exchange": 1}


def test_file_oidc_account_wide_policy_maps_user(emulator, tmp_path):
    token = emulator.issue_test_oidc_token("ci-job-7", email="bob@example.com")
    w = _file_oidc(emulator, tmp_path, token, None)
    assert w.current_user.me().user_name == "bob@example.com"


@pytest.mark.parametrize(
    "case",
    ["untrusted issuer", "wrong audience", "wrong subject", "expired"],
)
def test_file_oidc_refuses_bad_jwts(emulator, tmp_path, case):
    token = {
        "untrusted issuer": lambda: emulator.issue_test_oidc_token(trusted=False),
        "wrong audience": lambda: emulator.issue_test_oidc_token(audience="someone-else"),
        "wrong subject": lambda: emulator.issue_test_oidc_token("system:serviceaccount:x:y"),
        "expired": lambda: emulator.issue_test_oidc_token(ttl=-120),
    }[case]()
    w = _file_oidc(emulator, tmp_path, token, federated_sp(emulator))
    with pytest.raises(ValueError, match="invalid_request"):
        w.current_user.me()
