"""Secrets the server reads from its environment never reach the kernels it starts."""

from __future__ import annotations

import os
import sys

import pytest
from server_helpers import ETL_SP, scim_me

CRYPT_KEY = "0" * 63 + "1"  # a valid 32-byte hex key; test value
APP_SECRET = "canary-app-secret-DO-NOT-LEAK"
OIDC_TOKEN = "canary-oidc-token-DO-NOT-LEAK"  # a workload identity token is a bearer credential


@pytest.fixture
def jp_environ(monkeypatch, jp_environ, emulator):
    # Set before the server starts, as an admin would (the README recommends these variables).
    sp = emulator.service_principal(ETL_SP)
    monkeypatch.setenv("JUPYTER_DBX_AUTH_CRYPT_KEY", CRYPT_KEY)
    monkeypatch.setenv("JUPYTER_DBX_AUTH_OAUTH_CLIENT_SECRET", APP_SECRET)
    monkeypatch.setenv("DATABRICKS_HOST", emulator.url)
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", sp["client_id"])
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", sp["secret"])
    monkeypatch.setenv("DATABRICKS_OIDC_TOKEN", OIDC_TOKEN)


@pytest.fixture
def dbx_extra_config():
    return {"include_profiles": True, "oauth_client_id": "custom-app"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
async def test_kernels_never_inherit_server_secrets(jp_serverapp, dbx_app, emulator, kernel_client):
    sp = emulator.service_principal(ETL_SP)
    km = jp_serverapp.kernel_manager
    kernel_id = await km.start_kernel(kernel_name="python3")
    try:
        pid = km.get_kernel(kernel_id).provisioner.process.pid
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = f.read()
    finally:
        await km.shutdown_kernel(kernel_id, now=True)
    for secret in (CRYPT_KEY, APP_SECRET, sp["secret"], OIDC_TOKEN):
        assert secret.encode() not in environ
    assert b"JUPYTER_DBX_AUTH_KERNEL_KEY=" in environ  # what kernels do get
    for name in ("JUPYTER_DBX_AUTH_CRYPT_KEY", "DATABRICKS_CLIENT_SECRET", "DATABRICKS_OIDC_TOKEN"):
        assert name not in os.environ

    # The environment's connection still works: the server kept its own copy of the secret.
    r = await kernel_client.get("dbx-auth/api/token", params={"connection": "default"})
    assert r.status_code == 200, r.text
    assert (await scim_me(emulator.url, r.json()["access_token"])).status_code == 200
    assert dbx_app.service.app.client_secret.reveal() == APP_SECRET
