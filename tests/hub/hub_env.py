"""The real `dbx-auth` service (`jupyter-dbx-hub`) under a real hub, against the emulator: its
configuration, the OAuth app whose one redirect URL is the hub's callback, and helpers to play a
person's browser and a server. Shared by the hub tests and `bench/bench_hub.py`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from browser import sign_in
from harness import SERVICE, Hub

from jupyter_dbx_auth.emulator.harness import EmulatorProcess
from jupyter_dbx_auth.emulator.seed import Seed

APP_ID = "4b1d0000-1111-4a1a-8a1a-0000000hub01"
#: The emulator's seeded service principals: one per group (data-science, finance).
SP_DATA_SCIENCE = "5e1f0c1a-7d2b-4c3e-9f10-00000000a002"
SP_FINANCE = "5e1f0c1a-7d2b-4c3e-9f10-00000000a001"
SP_DS_SECRET_ENV = "DBX_SP_DATA_SCIENCE_SECRET"


def add_hub_app(seed: Seed, hub: Hub) -> Seed:
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
    return seed


def sp_secret(emulator: EmulatorProcess, client_id: str) -> str:
    return next(
        sp["secret"] for sp in emulator.config["service_principals"] if sp["client_id"] == client_id
    )


def configure_service(
    hub: Hub,
    emulator: EmulatorProcess,
    *,
    db_url: str,
    store_key: str,
    refresh_margin: float = 1.0,
    group_sps: bool = True,
) -> Path:
    """Write the service's own config file and make the hub run the real `jupyter-dbx-hub`."""
    workdir = hub.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    env = {"JUPYTER_DBX_AUTH_CRYPT_KEY": store_key}
    sps: dict[str, list[dict[str, Any]]] = {}
    if group_sps:
        # One secret from the service's environment, one from a file of its own.
        env[SP_DS_SECRET_ENV] = sp_secret(emulator, SP_DATA_SCIENCE)
        secret_file = workdir / "finance-sp.secret"
        secret_file.write_text(sp_secret(emulator, SP_FINANCE) + "\n")
        secret_file.chmod(0o600)
        sps = {
            "data-science": [
                {
                    "connection": "emu",
                    "client_id": SP_DATA_SCIENCE,
                    "client_secret_env": SP_DS_SECRET_ENV,
                    "expires": "2099-12-31",
                }
            ],
            "finance": [
                {
                    "connection": "emu",
                    "client_id": SP_FINANCE,
                    "client_secret_file": str(secret_file),
                }
            ],
        }
    config = workdir / "jupyter_dbx_hub_config.py"
    config.write_text(
        "\n".join(
            [
                f"c.DatabricksAuthHub.db_url = {db_url!r}",
                f"c.DatabricksAuthHub.public_url = {hub.url!r}",
                f"c.DatabricksAuthHub.oauth_client_id = {APP_ID!r}",
                f"c.DatabricksAuthHub.connections = {{'emu': {{'host': {emulator.url!r}}}}}",
                f"c.DatabricksAuthHub.refresh_margin = {refresh_margin!r}",
                f"c.DatabricksAuthHub.group_service_principals = {sps!r}",
            ]
        )
        + "\n"
    )
    hub.service_command = [sys.executable, "-m", "jupyter_dbx_auth.hub.app", "-f", str(config)]
    hub.service_environment = env
    hub.ready_path = "api/status"
    return config


def user_token(hub: Hub, user: str) -> str:
    """A hub API token of `user` with the one scope a server's token has for the service."""
    response = hub.api.post(
        f"users/{user}/tokens",
        json={"scopes": [f"access:services!service={SERVICE}"], "note": "test"},
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


def call(hub: Hub, path: str, token: str, method: str = "GET") -> httpx.Response:
    return httpx.request(
        method,
        hub.service_url + path,
        headers={"Authorization": f"token {token}"},
        trust_env=False,
        timeout=60,
    )


def start_sign_in(hub: Hub, browser: Any, email: str, password: str, next_url: str = "/hub/home"):
    """In `browser` (logged in to the hub), start a sign-in and sign in at the emulator as
    `email`. Returns the callback URL the IdP sent the browser to (not yet visited)."""
    page = browser.get(f"{hub.service_url}login/emu?next={next_url}")
    assert page.status_code == 200, (page.url, page.text[:300])
    authorize = str(page.url)
    query = parse_qs(urlparse(authorize).query)
    assert query["redirect_uri"] == [hub.service_url + "callback"]
    assert query["code_challenge_method"] == ["S256"]
    callback = sign_in(authorize, email, password, client=browser.http)
    assert callback.startswith(hub.service_url + "callback?")
    return callback


def scim_me(emulator: EmulatorProcess, access_token: str) -> dict[str, Any]:
    response = httpx.get(
        emulator.url + "/api/2.0/preview/scim/v2/Me",
        headers={"Authorization": f"Bearer {access_token}"},
        trust_env=False,
    )
    assert response.status_code == 200, response.text
    return response.json()
