"""OAuth apps as Databricks has them, driven by the real databricks-sdk: the published
`databricks-cli` app takes exactly `http://localhost:8020`, custom apps exactly their registered
URLs, confidential apps must authenticate, and an app removed from the account takes its tokens
with it."""

from __future__ import annotations

import socket
import threading
import time
import webbrowser
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from browser import SignInFailed, sign_in
from databricks.sdk import AccountClient, WorkspaceClient
from databricks.sdk.oauth import OAuthClient, retrieve_token
from databricks.sdk.service.oauth2 import TokenAccessPolicy

from jupyter_dbx_auth.emulator.harness import EmulatorError

from .helpers import LOOPBACK_REDIRECT, http, query

ALICE = ("alice@example.com", "alice-demo-password")


def admin(emu) -> AccountClient:
    sp = emu.service_principal("emulator-admin-sp")
    return AccountClient(
        host=emu.account_url,
        account_id=emu.account_id,
        client_id=sp["client_id"],
        client_secret=sp["secret"],
    )


def cli_consent(emu, redirect_url: str = LOOPBACK_REDIRECT, **kw):
    client = OAuthClient.from_host(emu.url, client_id="databricks-cli", redirect_url=redirect_url)
    return client.initiate_consent()


def signed_in(emu, client_id: str = "databricks-cli", redirect: str = LOOPBACK_REDIRECT, **kw):
    client = OAuthClient.from_host(emu.url, client_id=client_id, redirect_url=redirect, **kw)
    consent = client.initiate_consent()
    return consent.exchange_callback_parameters(query(sign_in(consent.authorization_url, *ALICE)))


def me_status(emu, access_token: str) -> int:
    with http() as c:
        return c.get(
            f"{emu.url}/api/2.0/preview/scim/v2/Me",
            headers={"Authorization": f"Bearer {access_token}"},
        ).status_code


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# -- the public databricks-cli app -------------------------------------------------------------
def test_sdk_external_browser_signs_in_through_localhost_8020(emulator, monkeypatch):
    """The sdk's own `external-browser` auth: it listens on localhost:8020 itself; our stand-in
    browser signs in and follows the redirect there, as a person's browser would."""
    if not port_free(8020):
        pytest.skip("port 8020 is busy (a databricks auth login or another test)")
    opened: list[str] = []

    def browser(url: str) -> bool:
        opened.append(url)

        def run() -> None:
            location = sign_in(url, *ALICE)
            # The sdk binds 127.0.0.1:8020 just after opening the browser: retry until it does.
            target = location.replace("http://localhost:8020", "http://127.0.0.1:8020", 1)
            for _ in range(200):
                try:
                    httpx.get(target, timeout=5, trust_env=False)
                    return
                except httpx.ConnectError:
                    time.sleep(0.05)

        threading.Thread(target=run, daemon=True).start()
        return True

    monkeypatch.setattr(webbrowser, "open_new", browser)
    w = WorkspaceClient(host=emulator.url, auth_type="external-browser")
    assert w.current_user.me().user_name == "alice@example.com"
    sent = parse_qs(urlsplit(opened[0]).query)
    assert opened[0].startswith(f"{emulator.url}/oidc/v1/authorize?")  # the workspace's issuer
    assert (sent["client_id"], sent["redirect_uri"]) == (["databricks-cli"], [LOOPBACK_REDIRECT])


def test_databricks_cli_tokens_come_from_the_workspace_issuer(emulator):
    creds = signed_in(emulator)
    claims = jwt.decode(creds.token().access_token, options={"verify_signature": False})
    assert claims["iss"] == f"{emulator.url}/oidc"
    assert claims["client_id"] == "databricks-cli"
    assert creds.token().refresh_token
    assert me_status(emulator, creds.token().access_token) == 200


@pytest.mark.parametrize(
    "redirect",
    [
        "http://localhost:8021",  # another port (what random-port clients sent: cli#3416)
        "http://127.0.0.1:8020",  # the same socket, spelled differently
        "http://localhost:8020/",  # trailing slash
        "http://localhost:8020/callback",  # a path
        "http://localhost:8020/dbx-auth/callback",
        "http://localhost",
        "https://localhost:8020",
        "http://[::1]:8020",
        "http://localhost:8020?x=1",
    ],
)
def test_databricks_cli_refuses_every_other_redirect_as_databricks_does(emulator, redirect):
    consent = cli_consent(emulator, redirect)
    with http() as c:
        page = c.get(consent.authorization_url)
    assert page.status_code == 400 and "Location" not in page.headers
    assert page.headers["Content-Type"] == "application/json"
    assert page.json() == {
        "error_description": (
            f"redirect_uri '{redirect}' not registered for OAuth application 'databricks-cli'"
        ),
        "error": "invalid_request",
    }
    with pytest.raises(SignInFailed, match="not registered for OAuth application"):
        sign_in(consent.authorization_url, *ALICE)


def test_code_exchange_needs_the_same_redirect(emulator):
    consent = cli_consent(emulator)
    got = query(sign_in(consent.authorization_url, *ALICE))
    state = consent.as_dict()
    with pytest.raises(ValueError, match="invalid_grant"):
        retrieve_token(
            client_id="databricks-cli",
            client_secret=None,
            token_url=state["token_endpoint"],
            params={
                "grant_type": "authorization_code",
                "code": got["code"],
                "code_verifier": state["verifier"],
                "redirect_uri": "http://localhost:8020/",
            },
            use_params=True,
        )


# -- published apps and their integrations -----------------------------------------------------
def test_published_app_catalog_lists_exact_redirects(emulator):
    catalog = {a.client_id: a for a in admin(emulator).o_auth_published_apps.list()}
    cli = catalog["databricks-cli"]
    assert cli.redirect_urls == ["http://localhost:8020"] and cli.is_confidential_client is False
    sql = catalog["databricks-sql-python"]
    assert sql.redirect_urls == [f"http://localhost:{p}" for p in range(8020, 8025)]
    assert all(a.is_confidential_client is False for a in catalog.values())
    paged = list(admin(emulator).o_auth_published_apps.list(page_size=1))
    assert [a.client_id for a in paged] == list(catalog)


def test_sql_connector_app_takes_its_five_ports_only(emulator):
    assert signed_in(emulator, "databricks-sql-python", "http://localhost:8024").token()
    consent = OAuthClient.from_host(
        emulator.url, client_id="databricks-sql-python", redirect_url="http://localhost:8025"
    ).initiate_consent()
    with http() as c:
        page = c.get(consent.authorization_url)
    assert page.status_code == 400 and "databricks-sql-python" in page.json()["error_description"]


def test_disabling_databricks_cli_revokes_and_reenabling_restores(emulator):
    a = admin(emulator)
    creds = signed_in(emulator)
    access = creds.token().access_token
    enabled = a.published_app_integration.list()
    integration = next(i for i in enabled if i.app_id == "databricks-cli")
    assert a.published_app_integration.get(integration.integration_id).name == "Databricks CLI"

    a.published_app_integration.delete(integration.integration_id)
    with pytest.raises(ValueError, match="invalid_client"):
        creds.refresh()
    assert me_status(emulator, access) == 401  # active tokens die with the app
    with http() as c:
        page = c.get(cli_consent(emulator).authorization_url)
    assert page.status_code == 400 and page.json()["error"] == "invalid_client"

    created = a.published_app_integration.create(
        app_id="databricks-cli",
        token_access_policy=TokenAccessPolicy(
            access_token_ttl_in_minutes=15, refresh_token_ttl_in_minutes=60
        ),
    )
    again = signed_in(emulator)
    assert 0 < again.token().expiry.timestamp() - time.time() <= 15 * 60
    assert a.published_app_integration.get(created.integration_id).app_id == "databricks-cli"
    with pytest.raises(Exception, match="already enabled"):
        a.published_app_integration.create(app_id="databricks-cli")
    with pytest.raises(Exception, match="published OAuth app"):
        a.published_app_integration.create(app_id="no-such-app")


# -- custom apps -------------------------------------------------------------------------------
def test_custom_app_redirects_match_exactly(emulator):
    url = "http://127.0.0.1:39123/a%40b/dbx-auth/callback"
    app = emulator.create_custom_app([url])
    assert "client_secret" not in app  # public
    assert signed_in(emulator, app["client_id"], url).token().access_token
    for other in (
        url.replace("127.0.0.1", "localhost"),
        url + "/",
        url.replace("39123", "39124"),
        url.replace("a%40b", "a@b"),
        url.replace("http://", "https://"),
    ):
        consent = OAuthClient.from_host(
            emulator.url, client_id=app["client_id"], redirect_url=other
        ).initiate_consent()
        with http() as c:
            page = c.get(consent.authorization_url)
        assert page.status_code == 400, other
        assert page.json()["error_description"] == (
            f"redirect_uri '{other}' not registered for OAuth application '{app['client_id']}'"
        )


def test_confidential_app_must_authenticate_on_code_and_refresh(emulator):
    url = "http://127.0.0.1:39125/cb"
    app = emulator.create_custom_app([url], confidential=True)
    assert app["client_secret"].startswith("emu-")
    # No secret: the sdk's public-client exchange is refused.
    with pytest.raises(ValueError, match="invalid_client"):
        signed_in(emulator, app["client_id"], url)
    with pytest.raises(ValueError, match="invalid_client"):
        signed_in(emulator, app["client_id"], url, client_secret="emu-wrong")
    creds = signed_in(emulator, app["client_id"], url, client_secret=app["client_secret"])
    refresh = creds.token().refresh_token
    token_url = f"{emulator.url}/oidc/v1/token"
    for secret in (None, "emu-wrong"):
        with pytest.raises(ValueError, match="invalid_client"):
            retrieve_token(
                client_id=app["client_id"],
                client_secret=secret,
                token_url=token_url,
                params={"grant_type": "refresh_token", "refresh_token": refresh},
                use_params=True,
            )
    assert creds.refresh().access_token


def test_deleted_custom_app_refresh_fails_and_its_tokens_are_refused(emulator):
    url = "http://127.0.0.1:39126/cb"
    app = emulator.create_custom_app([url])
    creds = signed_in(emulator, app["client_id"], url)
    other = signed_in(emulator)  # another app's sign-in of the same user is untouched
    assert me_status(emulator, creds.token().access_token) == 200
    emulator.delete_custom_app(app["integration_id"])
    assert me_status(emulator, creds.token().access_token) == 401
    with pytest.raises(ValueError, match="invalid_client"):
        creds.refresh()
    assert me_status(emulator, other.token().access_token) == 200


def test_custom_app_update_list_and_validation(emulator):
    a = admin(emulator)
    created = a.custom_app_integration.create(
        name="team-notebooks",
        redirect_urls=["https://jupyter.example.com/hub/dbx/callback"],
        scopes=["all-apis", "offline_access"],
        confidential=False,
    )
    got = a.custom_app_integration.get(created.integration_id)
    assert got.token_access_policy.access_token_ttl_in_minutes == 60  # documented defaults
    assert got.token_access_policy.refresh_token_ttl_in_minutes == 10080
    new_url = "http://localhost:39127/cb"
    a.custom_app_integration.update(created.integration_id, redirect_urls=[new_url])
    assert a.custom_app_integration.get(created.integration_id).redirect_urls == [new_url]
    assert signed_in(emulator, created.client_id, new_url).token()
    listed = list(a.custom_app_integration.list(page_size=1, include_creator_username=True))
    mine = next(x for x in listed if x.integration_id == created.integration_id)
    assert mine.creator_username == emulator.service_principal("emulator-admin-sp")["client_id"]
    refused = [
        {"redirect_urls": ["http://jupyter.example.com/cb"]},  # http only on loopback
        {"redirect_urls": ["https://x.example/" + "a" * 260]},
        {"scopes": []},
        {"token_access_policy": {"access_token_ttl_in_minutes": 30}},  # both TTLs or none
    ]
    for change in refused:
        body = {"name": "x", "redirect_urls": ["https://x.example/cb"], "scopes": ["sql"]}
        with pytest.raises(EmulatorError, match="400"):
            emulator.account_api("POST", "oauth2/custom-app-integrations", {**body, **change})


def test_app_option_registers_a_public_app_that_survives_reset(emulator_factory):
    url = "http://127.0.0.1:39128/lab/dbx-auth/callback"
    emu = emulator_factory(apps={"jupyter-tests": [url]})
    emu.reset()
    assert signed_in(emu, "jupyter-tests", url).token().access_token
    client = OAuthClient.from_host(
        emu.url, client_id="jupyter-tests", redirect_url=LOOPBACK_REDIRECT
    )
    with http() as c:
        page = c.get(client.initiate_consent().authorization_url)
    assert page.status_code == 400


# -- which host is which -----------------------------------------------------------------------
def test_workspace_and_account_hosts_name_their_own_issuers(emulator):
    with http() as c:
        ws = c.get(f"{emulator.url}/.well-known/databricks-config").json()
        acct = c.get(f"{emulator.account_url}/.well-known/databricks-config").json()
        assert c.get(f"{emulator.account_url}/api/2.0/preview/scim/v2/Me").status_code == 404
    assert ws["oidc_endpoint"] == f"{emulator.url}/oidc" and ws["workspace_id"]
    assert acct["oidc_endpoint"] == f"{emulator.account_url}/oidc/accounts/{emulator.account_id}"
    assert "workspace_id" not in acct

    sp = emulator.service_principal("emulator-admin-sp")
    w = WorkspaceClient(host=emulator.url, client_id=sp["client_id"], client_secret=sp["secret"])
    assert w.current_user.me().display_name == "emulator-admin-sp"
    ws_claims = jwt.decode(w.config.oauth_token().access_token, options={"verify_signature": False})
    assert ws_claims["iss"] == f"{emulator.url}/oidc"
    a = admin(emulator)
    assert list(a.service_principals.list())
    acct_token = a.config.oauth_token().access_token
    acct_claims = jwt.decode(acct_token, options={"verify_signature": False})
    assert acct_claims["iss"].endswith(f"/oidc/accounts/{emulator.account_id}")


def test_account_console_user_sign_in_with_databricks_cli(emulator):
    """Seed 003's account-level flow: the same public app and redirect, the account issuer."""
    client = OAuthClient.from_host(
        emulator.account_url, client_id="databricks-cli", redirect_url=LOOPBACK_REDIRECT
    )
    consent = client.initiate_consent()
    account_issuer = f"{emulator.account_url}/oidc/accounts/{emulator.account_id}"
    assert consent.authorization_url.startswith(f"{account_issuer}/v1/authorize?")
    creds = consent.exchange_callback_parameters(query(sign_in(consent.authorization_url, *ALICE)))
    token = creds.token().access_token
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == account_issuer
    with http() as c:
        me = c.get(
            f"{emulator.account_url}/api/2.0/accounts/{emulator.account_id}/scim/v2/Me",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert me.status_code == 200 and me.json()["userName"] == "alice@example.com"


def test_code_exchange_may_carry_scope_as_seed_003_does(emulator):
    consent = cli_consent(emulator)
    got = query(sign_in(consent.authorization_url, *ALICE))
    state = consent.as_dict()
    token = retrieve_token(
        client_id="databricks-cli",
        client_secret=None,
        token_url=state["token_endpoint"],
        params={
            "grant_type": "authorization_code",
            "code": got["code"],
            "code_verifier": state["verifier"],
            "redirect_uri": LOOPBACK_REDIRECT,
            "scope": "all-apis offline_access",
        },
        use_params=True,
    )
    assert token.access_token and token.refresh_token
