"""What `%dbx_connect NAME --env` changes for code that configures the SDK itself.

With `DATABRICKS_HOST`, `DATABRICKS_AUTH_TYPE=metadata-service` and
`DATABRICKS_METADATA_SERVICE_URL` set, databricks-sdk applies its own precedence (arguments, then
environment, then `~/.databrickscfg`; `auth_type` picks the strategy). These tests pin it with the
real SDK and the real server, so the README's table stays true:

| code                                                   | signs in as             |
|--------------------------------------------------------|-------------------------|
| `WorkspaceClient()`                                    | the exported connection |
| `WorkspaceClient(host=..., auth_type=..., <creds>)`    | the arguments           |
| `%dbx_connect NAME`, `jupyter_dbx_auth.connect(NAME)`  | NAME (its own strategy) |
| `WorkspaceClient(host=..., token=...)`, no `auth_type` | the exported connection |
| `WorkspaceClient(profile=P)`                           | exported host + auth    |
| `WorkspaceClient(profile=P, auth_type=...)`            | P's credentials, exported host |

The last three are the SDK's rules (environment before config file; an `auth_type` from the
environment wins over credentials given without one), which is why `--env` is opt-in per kernel
and `env_export.unexport()` takes the variables back out.
"""

from __future__ import annotations

import pytest
from server_helpers import ETL_SP, login

ALICE = "alice@example.com"


@pytest.fixture
async def exported(browser, emulator, dbx_app, monkeypatch, tmp_path):
    from jupyter_dbx_auth.kernel import env_export

    await login(browser, emulator)
    sp = emulator.service_principal(ETL_SP)
    cfg = tmp_path / "databrickscfg"  # pytest-jupyter moves HOME: name the file
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(cfg))
    cfg.write_text(
        f"[etl]\nhost = {emulator.url}\nclient_id = {sp['client_id']}\n"
        f"client_secret = {sp['secret']}\n\n"
        f"[elsewhere]\nhost = https://elsewhere.cloud.databricks.com\ntoken = dapi-not-used\n"
    )
    monkeypatch.setenv(env_export.ENV_HOST, emulator.url)
    monkeypatch.setenv(env_export.ENV_AUTH_TYPE, env_export.AUTH_TYPE)
    monkeypatch.setenv(env_export.ENV_URL, dbx_app._metadata.url_for("ws"))
    return sp


def who(**kwargs) -> tuple[str, str, str]:
    from databricks.sdk import WorkspaceClient

    w = WorkspaceClient(**kwargs)
    return w.config.auth_type, w.config.host, str(w.current_user.me().user_name)


async def test_sdk_precedence_with_the_variables_set(exported, emulator):
    import asyncio

    from databricks.sdk.config import Config

    sp = exported
    run = asyncio.to_thread
    assert await run(who) == ("metadata-service", emulator.url, ALICE)

    m2m = {"client_id": sp["client_id"], "client_secret": sp["secret"]}
    assert await run(who, host=emulator.url, auth_type="oauth-m2m", **m2m) == (
        "oauth-m2m",
        emulator.url,
        sp["client_id"],
    )
    sp_token = Config(host=emulator.url, auth_type="oauth-m2m", **m2m).oauth_token().access_token
    assert await run(who, host=emulator.url, auth_type="pat", token=sp_token) == (
        "pat",
        emulator.url,
        sp["client_id"],
    )

    # The SDK's own rules, pinned: an auth type from the environment beats credentials given
    # without one, and the environment's host beats a profile's.
    assert (await run(who, host=emulator.url, token=sp_token))[::2] == ("metadata-service", ALICE)
    assert await run(who, profile="etl") == ("metadata-service", emulator.url, ALICE)
    assert await run(who, profile="etl", auth_type="oauth-m2m") == (
        "oauth-m2m",
        emulator.url,
        sp["client_id"],
    )
    from databricks.sdk import WorkspaceClient

    cfg = (await run(WorkspaceClient, profile="elsewhere", auth_type="pat")).config
    assert cfg.host == emulator.url  # not elsewhere.cloud.databricks.com


async def test_our_own_clients_ignore_the_variables(exported, emulator, monkeypatch):
    """`%dbx_connect` clients name their strategy: the exported variables cannot redirect them."""
    import asyncio

    from databricks.sdk.config import Config

    from jupyter_dbx_auth.core.secret import Secret
    from jupyter_dbx_auth.kernel import env_export, sdk
    from jupyter_dbx_auth.kernel.tokens import KernelToken, TokenCache

    sp = exported
    m2m = Config(
        host=emulator.url,
        auth_type="oauth-m2m",
        client_id=sp["client_id"],
        client_secret=sp["secret"],
    )

    def fetch(rejected=None) -> KernelToken:
        tok = m2m.oauth_token()
        return KernelToken(access_token=Secret(tok.access_token), expires_at=tok.expiry.timestamp())

    w = sdk.workspace_client(TokenCache(fetch, label="etl"), emulator.url)
    me = await asyncio.to_thread(lambda: w.current_user.me().user_name)
    assert (w.config.auth_type, me) == ("jupyter-dbx-auth", sp["client_id"])

    assert env_export.unexport() == list(env_export.NAMES)
    for name in env_export.NAMES:
        monkeypatch.delenv(name, raising=False)


async def test_the_picker_exports_with_its_checkbox(browser, emulator, monkeypatch):
    """The picker's "Also sign in ..." box does what `--env` does (server backend, real server)."""
    import asyncio
    import os

    from jupyter_dbx_auth.kernel import env_export
    from jupyter_dbx_auth.kernel.backends import ServerBackend
    from jupyter_dbx_auth.kernel.server_client import ServerClient
    from jupyter_dbx_auth.kernel.widgets import picker

    await login(browser, emulator)
    for name in env_export.NAMES:
        monkeypatch.delenv(name, raising=False)
    client = ServerClient.from_env()  # this process holds the kernel key, as a kernel would
    assert client is not None
    backend = ServerBackend(client)

    def click() -> str:
        view = picker("ws", backend=backend, live=False)
        view.env.value = True
        assert view.on_connect() is not None, view.model.state.message
        return view.model.state.message

    try:
        message = await asyncio.to_thread(click)
        assert "Exported DATABRICKS_HOST" in message
        assert os.environ[env_export.ENV_URL] not in message
        assert await asyncio.to_thread(who) == ("metadata-service", emulator.url, ALICE)
    finally:
        env_export.unexport()  # set by the picker, not by monkeypatch: remove them here
        client.close()
