"""End to end, issue 13: every Databricks tool started from Jupyter is signed in.

A real Jupyter server (at DEBUG, every log record captured) starts a real IPython kernel and a
real terminal (terminado, through the server's REST and websocket API), against the emulator
issuing 5-second tokens. Each of plain `WorkspaceClient()` in the kernel, `!python -c ...` in a
subprocess and a Python one-liner in the terminal runs for 16 s (three token lifetimes), calling
SCIM Me twice a second with no arguments, and must see a new token each lifetime. The
metadata-service URL's secret appears in no log record and no notebook or terminal output.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from server_helpers import login
from tornado.websocket import websocket_connect

ALICE = "alice@example.com"

#: One line, no `$` (it passes through a shell): 32 calls to SCIM Me, 0.5 s apart (>= 16 s).
ONE_LINER = (
    "import time; from databricks.sdk import WorkspaceClient; w = WorkspaceClient(); "
    "r = [(w.current_user.me().user_name, w.config.authenticate()['Authorization'], "
    "time.sleep(0.5)) for _ in range(32)]; "
    "print('users', sorted({u for u, a, s in r}), 'distinct', len({a for u, a, s in r}), "
    "'auth', w.config.auth_type)"
)
RESULT = re.compile(r"users \['(?P<users>[^']*)'\] distinct (?P<n>\d+) auth (?P<auth>[\w-]+)")

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def dbx_emulator(emulator_factory):
    return emulator_factory(token_ttl=5)


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    server = jp_server_config["ServerApp"]
    server["jpserver_extensions"] = {
        **server["jpserver_extensions"],
        "jupyter_server_terminals": True,
    }
    server["log_level"] = "DEBUG"
    return jp_server_config


@pytest.fixture
def records(monkeypatch) -> list[logging.LogRecord]:
    """Every log record any logger in the server process handles."""
    seen: list[logging.LogRecord] = []
    original = logging.Logger.handle

    def handle(self: logging.Logger, record: logging.LogRecord) -> None:
        seen.append(record)
        original(self, record)

    monkeypatch.setattr(logging.Logger, "handle", handle)
    for name in ("", "tornado", "tornado.access", "jupyter_dbx_auth", "ServerApp"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.DEBUG)
    return seen


class Kernel:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.messages: list[dict[str, Any]] = []

    async def run(self, code: str, timeout: float = 90) -> tuple[str, dict[str, Any]]:
        out: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            self.messages.append(msg)
            content = msg["content"]
            if msg["msg_type"] == "stream":
                out.append(content["text"])
            elif msg["msg_type"] in ("execute_result", "display_data"):
                out.append(content["data"].get("text/plain", ""))
            elif msg["msg_type"] == "error":
                out.append("\n".join(content["traceback"]))

        reply = await self.client.execute_interactive(code, output_hook=hook, timeout=timeout)
        return "".join(out), reply["content"]


@pytest.fixture
async def kernel(jp_serverapp, server_url):
    km = jp_serverapp.kernel_manager
    kid = await km.start_kernel(kernel_name="python3")
    client = km.get_kernel(kid).client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        yield Kernel(client)
    finally:
        client.stop_channels()
        await km.shutdown_kernel(kid, now=True)


def check_result(out: str, auth: str = "metadata-service") -> None:
    found = RESULT.search(out)
    assert found, out
    assert found["users"] == ALICE and found["auth"] == auth, out
    assert int(found["n"]) >= 3, out  # a new token each 5 s lifetime, no user action


def assert_secret_nowhere(secret: str, records: list[logging.LogRecord], *texts: str) -> None:
    assert len(secret) >= 40
    for record in records:
        text = f"{record.getMessage()} {record.args!r} {record.exc_text!r}"
        assert secret not in text, (record.name, record.levelname)
    for text in texts:
        assert secret not in text


async def test_kernel_and_subprocess_sign_in_with_dbx_connect_env(
    records, kernel, browser, dbx_emulator, dbx_app
):
    # `records` first: capturing starts before the server and the kernel do.
    await login(browser, dbx_emulator)
    out, reply = await kernel.run(
        "import os, sys; print('before', os.environ.get('DATABRICKS_METADATA_SERVICE_URL'))"
    )
    assert "before None" in out, out
    await kernel.run("%load_ext jupyter_dbx_auth")
    out, reply = await kernel.run("%dbx_connect ws --env")
    assert reply["status"] == "ok", out
    assert "Exported DATABRICKS_HOST" in out and "DATABRICKS_METADATA_SERVICE_URL" in out, out
    secret = httpx.URL(dbx_app._metadata.url_for("ws")).password or ""
    assert secret not in out
    out, reply = await kernel.run("%env")  # a notebook's usual way to show its environment
    assert "'DATABRICKS_METADATA_SERVICE_URL': '<hidden>'" in out and secret not in out, out

    # Plain WorkspaceClient() in the notebook: no arguments at all.
    out, reply = await kernel.run(f"exec({ONE_LINER!r})")
    assert reply["status"] == "ok", out
    check_result(out)

    # A subprocess started with `!`: inherits the kernel's environment.
    out, reply = await kernel.run(f'CODE = {ONE_LINER!r}\n!{{sys.executable}} -c "$CODE"')
    assert reply["status"] == "ok", out
    check_result(out)

    blob = json.dumps([m["content"] for m in kernel.messages], default=str)
    assert_secret_nowhere(secret, records, blob)
    # The server's own request log was on (DEBUG): it just never saw the secret.
    assert any("dbx-auth/api/metadata-service" in r.getMessage() for r in records)


# jupyter_server_terminals' websocket handler authenticates by itself but lacks the decorator
# jupyter-server's start-up audit looks for (the suite turns that warning into an error).
@pytest.mark.filterwarnings("ignore::jupyter_server.utils.JupyterServerAuthWarning")
class TestDefaultConnection:
    """`c.DatabricksAuth.default_connection`: kernels and terminals are signed in from the start."""

    @pytest.fixture
    def dbx_extra_config(self, dbx_extra_config: dict[str, Any]) -> dict[str, Any]:
        return {**dbx_extra_config, "default_connection": "ws"}

    async def test_terminal_and_kernel(
        self, records, jp_serverapp, server_url, browser, dbx_emulator, dbx_app, kernel
    ):
        await login(browser, dbx_emulator)
        secret = httpx.URL(dbx_app._metadata.url_for("ws")).password or ""

        # The kernel inherited the variables: no magic at all.
        out, reply = await kernel.run(f"exec({ONE_LINER!r})")
        assert reply["status"] == "ok", out
        check_result(out)

        token = jp_serverapp.identity_provider.token
        headers = {"Authorization": f"token {token}"}
        async with httpx.AsyncClient(trust_env=False, timeout=20, headers=headers) as http:
            r = await http.post(f"{server_url}api/terminals", json={})
            assert r.status_code == 200, r.text
            name = r.json()["name"]
        ws_url = server_url.replace("http://", "ws://") + (
            f"terminals/websocket/{quote(name)}?token={token}"
        )
        conn = await websocket_connect(ws_url)
        command = f'{sys.executable} -c "{ONE_LINER}"; echo EXIT-$?-DONE\r'
        conn.write_message(json.dumps(["stdin", command]))
        screen = ""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        done = re.compile(r"EXIT-(\d+)-DONE")  # the shell's echo of the command has `$?`
        while not done.search(screen):
            left = deadline - loop.time()
            assert left > 0, screen
            raw = await asyncio.wait_for(conn.read_message(), left)
            assert raw is not None, screen
            kind, *payload = json.loads(raw)
            if kind == "stdout":
                screen += payload[0]
        conn.close()
        text = screen.replace("\r", "")
        check_result(text)
        assert "EXIT-0-DONE" in text, text
        blob = json.dumps([m["content"] for m in kernel.messages], default=str)
        assert_secret_nowhere(secret, records, blob, screen)
        # Captured from the server's start: its config, kernel and terminal launches included.
        logged = " ".join(r.getMessage() for r in records)
        assert "Starting kernel" in logged or "Kernel started" in logged, logged[-2000:]
