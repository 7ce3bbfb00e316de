"""The service's HTTP API sketch (`jupyter_dbx_auth.hub.handlers`) on a real hub, with the callback
path running real OAuth against the emulator through an OAuth app whose one redirect URL is the
hub's `/services/dbx-auth/callback`. The application behind the handlers is test scaffolding
(`sketch_service.py`) until the AuthService adapter exists."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from browser import sign_in
from harness import SERVICE, Hub, proxy_available
from hub_keys import STORE_KEY

from jupyter_dbx_auth.emulator.harness import EmulatorProcess
from jupyter_dbx_auth.emulator.seed import default_seed

pytestmark = [
    pytest.mark.timeout(360),  # the first test also starts the hub, on a shared machine
    pytest.mark.skipif(
        not proxy_available() and not os.environ.get("CI"),
        reason="configurable-http-proxy not installed: run `make hub-proxy`",
    ),
]
HERE = Path(__file__).resolve().parent
APP_ID = "4b1d0000-1111-4a1a-8a1a-0000000hub01"


class Env:
    def __init__(self, hub: Hub, emulator: EmulatorProcess, db: str) -> None:
        self.hub, self.emulator, self.db = hub, emulator, db

    def password(self, email: str) -> str:
        return self.emulator.user(email)["password"]

    def user_token(self, user: str) -> str:
        """A hub API token of `user` with the same service scope a server's token has."""
        response = self.hub.api.post(
            f"users/{user}/tokens",
            json={"scopes": [f"access:services!service={SERVICE}"], "note": "test"},
        )
        assert response.status_code == 201, response.text
        return response.json()["token"]

    def call(self, path: str, token: str, method: str = "GET") -> httpx.Response:
        return httpx.request(
            method,
            self.hub.service_url + path,
            headers={"Authorization": f"token {token}"},
            trust_env=False,
        )


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    workdir = tmp_path_factory.mktemp("hub-sketch")
    db = f"sqlite:///{workdir}/dbx-auth/store.sqlite"
    hub = Hub(
        workdir,
        service_command=[sys.executable, str(HERE / "sketch_service.py")],
        ready_path="api/status",
    )
    seed = default_seed()
    seed["oauth_apps"].append(
        {
            "client_id": APP_ID,
            "integration_id": "4b1d0000-1111-4a1a-8a1a-00000000hd01",
            "name": "jupyterhub dbx-auth",
            "confidential": False,
            "redirect_urls": [hub.service_url + "callback"],  # the hub's one callback, only
            "scopes": ["all-apis", "offline_access"],
            "token_access_policy": {"enable_single_use_refresh_tokens": True},
        }
    )
    with EmulatorProcess(state=seed) as emulator:
        hub.service_environment = {
            "JDA_EMULATOR_URL": emulator.url,
            "JDA_HUB_APP_CLIENT_ID": APP_ID,
            "JDA_HUB_DB_URL": db,
            "JDA_HUB_PUBLIC_URL": hub.url,
            "JUPYTER_DBX_AUTH_CRYPT_KEY": STORE_KEY,
        }
        started = time.monotonic()
        with hub:
            print(f"hub with the sketch service up in {time.monotonic() - started:.1f} s")
            yield Env(hub, emulator, db)


def signed_in_browser(env: Env, hub_user: str, email: str, next_url: str = "/hub/home"):
    """Log `hub_user` in to the hub, start a sign-in, sign in at the emulator as `email`.
    Returns the browser and the callback URL the IdP sent it to (not yet visited)."""
    browser = env.hub.browser().login(hub_user)
    page = browser.get(f"{env.hub.service_url}login/emu?next={next_url}")
    assert page.status_code == 200, (page.url, page.text[:300])
    authorize = str(page.url)
    query = parse_qs(urlparse(authorize).query)
    assert query["redirect_uri"] == [env.hub.service_url + "callback"]
    assert query["code_challenge_method"] == ["S256"]
    callback = sign_in(authorize, email, env.password(email), client=browser.http)
    assert callback.startswith(env.hub.service_url + "callback?")
    return browser, callback


def me(env: Env, access_token: str) -> dict[str, Any]:
    response = httpx.get(
        env.emulator.url + "/api/2.0/preview/scim/v2/Me",
        headers={"Authorization": f"Bearer {access_token}"},
        trust_env=False,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_alice_signs_in_through_the_one_callback_and_her_server_gets_her_token(env: Env) -> None:
    browser, callback = signed_in_browser(env, "alice", "alice@example.com")
    done = browser.get(callback)
    assert done.status_code == 200 and urlparse(str(done.url)).path == "/hub/home"
    status = browser.json(env.hub.service_url + "api/status")
    assert status["user"] == "alice" and status["connections"]["emu"]["state"] == "ok"
    # The browser never gets a token, even signed in.
    assert browser.get(env.hub.service_url + "api/token/emu").status_code == 403
    token = env.call("api/token/emu", env.user_token("alice"))
    assert token.status_code == 200, token.text
    assert token.headers["Cache-Control"] == "no-store"
    body = token.json()
    assert set(body) == {"access_token", "expires_at", "token_type"}  # no refresh token
    assert me(env, body["access_token"])["userName"] == "alice@example.com"
    browser.close()


def test_bob_cannot_complete_read_or_take_alices_sign_in(env: Env) -> None:
    alice, callback = signed_in_browser(env, "alice", "alice@example.com")
    bob = env.hub.browser().login("bob")
    stolen = bob.get(callback)  # bob's browser replays alice's callback (code and state)
    assert stolen.status_code == 400 and "did not match" in stolen.json()["message"]
    assert bob.json(env.hub.service_url + "api/status")["connections"]["emu"]["state"] != "ok"
    refused = env.call("api/token/emu", env.user_token("bob"))
    assert refused.status_code in (400, 401) and "access_token" not in refused.text
    # Alice's own callback still completes: bob's attempt did not burn or steal it.
    assert alice.get(callback).status_code == 200
    alice.close()
    bob.close()


def test_state_is_single_use_and_idp_errors_are_explained(env: Env) -> None:
    browser, callback = signed_in_browser(env, "alice", "alice@example.com")
    assert browser.get(callback).status_code == 200
    again = browser.get(callback)
    assert again.status_code == 400 and "did not match" in again.json()["message"]
    denied = browser.get(env.hub.service_url + "callback?error=access_denied&state=x")
    assert denied.status_code == 400 and "access_denied" in denied.text
    assert (
        browser.get(env.hub.service_url + "login/emu?next=https://evil.example/").status_code == 400
    )
    assert (
        browser.get(env.hub.service_url + "login/nope")
        .json()["message"]
        .startswith("There is no connection 'nope'")
    )
    browser.close()


def test_anonymous_and_non_admins_are_refused(env: Env) -> None:
    assert httpx.get(env.hub.service_url + "api/status", trust_env=False).status_code == 403
    assert httpx.get(env.hub.service_url + "api/token/emu", trust_env=False).status_code == 403
    alice = env.user_token("alice")
    assert env.call("api/admin", alice).status_code == 403
    assert env.call("api/admin/sign-ins/bob/emu", alice, method="DELETE").status_code == 403


def test_admin_sees_names_and_times_and_revokes(env: Env) -> None:
    browser, callback = signed_in_browser(env, "alice", "alice@example.com")
    assert browser.get(callback).status_code == 200
    admin = env.user_token("hubadmin")
    overview = env.call("api/admin", admin)
    assert overview.status_code == 200, overview.text
    sign_ins = overview.json()["sign_ins"]
    assert {"user": "alice", "connection": "emu"}.items() <= sign_ins[0].items()
    assert "token" not in overview.text.replace('"sign_ins"', "")
    revoked = env.call("api/admin/sign-ins/alice/emu", admin, method="DELETE")
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    after = env.call("api/token/emu", env.user_token("alice"))
    assert after.status_code in (400, 401) and "access_token" not in after.text
    browser.close()


def test_nothing_secret_in_the_store_file(env: Env) -> None:
    path = Path(urlparse(env.db).path)
    raw = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.is_file())
    assert raw and b"alice" in raw
    for needle in (b"refresh_token", STORE_KEY.encode()):
        assert needle not in raw
