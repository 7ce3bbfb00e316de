"""Server-extension fixtures: a live Jupyter server with the extension, wired to the emulator.

`jp_base_url` is "/a%40b/" so that every URL the extension builds must respect a non-trivial,
percent-encoded base URL. `allow_unauthenticated_access` is off, as on a locked-down server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from server_helpers import BASE_URL, ETL_SP, Browser


@pytest.fixture
async def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


@pytest.fixture
def jp_asyncio_loop(_running_loop: asyncio.AbstractEventLoop) -> asyncio.AbstractEventLoop:
    """pytest-asyncio (auto mode) runs the tests; pytest-jupyter must use that same loop."""
    return _running_loop


@pytest.fixture
def jp_base_url() -> str:
    return BASE_URL


@pytest.fixture
def dbx_extra_config() -> dict[str, Any]:
    """Override in a test module to add DatabricksAuth settings."""
    return {}


@pytest.fixture
def dbx_emulator(emulator):
    """The emulator the server's connections point at; a test module may override it."""
    return emulator


@pytest.fixture
def dbx_oauth_app(dbx_emulator, jp_http_port, jp_base_url) -> dict[str, Any]:
    """The OAuth app users sign in with: a public custom app whose redirect URLs are exactly
    this server's callback, registered by an account admin through the account API, as on
    Databricks (the public databricks-cli app only takes http://localhost:8020)."""
    return dbx_emulator.create_custom_app(
        [
            f"http://{host}:{jp_http_port}{jp_base_url}dbx-auth/callback"
            for host in ("127.0.0.1", "localhost")
        ]
    )


@pytest.fixture
def jp_server_config(dbx_emulator, tmp_path, dbx_extra_config, dbx_oauth_app) -> dict[str, Any]:
    emulator = dbx_emulator
    sp = emulator.service_principal(ETL_SP)
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_dbx_auth": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        },
        "DatabricksAuth": {
            "connections": {
                "ws": {"host": emulator.url, "auth_type": "databricks-cli"},
                "etl": {
                    "host": emulator.url,
                    "auth_type": "oauth-m2m",
                    "client_id": sp["client_id"],
                },
            },
            "include_profiles": False,
            "store_backend": "file",
            "store_path": str(tmp_path / "store"),
            "audit_log_path": str(tmp_path / "audit.log"),
            "events_keepalive": 0.5,
            "oauth_client_id": dbx_oauth_app["client_id"],
            **dbx_extra_config,
        },
    }


@pytest.fixture
def dbx_app(jp_serverapp):
    return jp_serverapp.extension_manager.extension_points["jupyter_dbx_auth"].app


@pytest.fixture
def kernel_headers(dbx_app) -> dict[str, str]:
    return {"Authorization": dbx_app.kernel_key.header()}


@pytest.fixture
def server_url(jp_serverapp, http_server, jp_http_port) -> str:
    """Root of the live test server (the `http_server` fixture makes it listen)."""
    return f"http://127.0.0.1:{jp_http_port}{BASE_URL}"


@pytest.fixture
async def browser_factory(server_url, jp_serverapp) -> AsyncIterator[Callable[[], Any]]:
    made: list[Browser] = []

    async def make() -> Browser:
        b = Browser(server_url, jp_serverapp.identity_provider.token)
        await b.log_in()
        made.append(b)
        return b

    yield make
    for b in made:
        await b.aclose()


@pytest.fixture
async def browser(browser_factory) -> Browser:
    return await browser_factory()


@pytest.fixture
async def kernel_client(server_url, kernel_headers) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=server_url, headers=kernel_headers, trust_env=False, timeout=20
    ) as client:
        yield client


@pytest.fixture
async def kernel(jp_serverapp, server_url) -> AsyncIterator[Any]:
    """A real kernel started by this server (it inherits the kernel key and the server URL)."""
    km = jp_serverapp.kernel_manager
    kid = await km.start_kernel(kernel_name="python3")
    client = km.get_kernel(kid).client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        yield client
    finally:
        client.stop_channels()
        await km.shutdown_kernel(kid, now=True)
