"""End to end: a real Jupyter server with the extension starts a real IPython kernel, which gets
its tokens through the server's kernel API (the kernel key arrives in its environment).

Reuses the server tests' fixtures (connections `ws` = U2M and `etl` = M2M on the emulator, base
URL `/a%40b/`); the emulator issues 5-second tokens here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from kernel_helpers import CANARY, ETL_SP
from server_helpers import login

ALICE = "alice@example.com"


@pytest.fixture
def dbx_emulator(emulator_factory):
    return emulator_factory(token_ttl=5)


@pytest.fixture
def dbx_extra_config(dbx_emulator) -> dict[str, Any]:
    etl = dbx_emulator.service_principal(ETL_SP)
    return {
        "connections": {
            "ws": {"host": dbx_emulator.url, "auth_type": "databricks-cli"},
            "etl": {
                "host": dbx_emulator.url,
                "auth_type": "oauth-m2m",
                "client_id": etl["client_id"],
            },
            "canary": {
                "host": dbx_emulator.url,
                "auth_type": "oauth-m2m",
                "client_id": etl["client_id"],
                "client_secret": CANARY,
            },
        }
    }


class Kernel:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.messages: list[dict[str, Any]] = []

    async def run(self, code: str, timeout: float = 60) -> tuple[str, dict[str, Any]]:
        out: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            self.messages.append(msg)
            content = msg["content"]
            kind = msg["msg_type"]
            if kind == "stream":
                out.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                out.append(content["data"].get("text/plain", ""))
            elif kind == "error":
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


async def test_real_kernel_connects_and_survives_expiries(kernel, browser, dbx_emulator):
    await login(browser, dbx_emulator)
    out, reply = await kernel.run("import os; print(sorted(k for k in os.environ if 'DBX' in k))")
    assert "JUPYTER_DBX_AUTH_KERNEL_KEY" in out and "JUPYTER_DBX_AUTH_SERVER_URL" in out

    out, reply = await kernel.run("%load_ext jupyter_dbx_auth")
    assert reply["status"] == "ok", out
    out, reply = await kernel.run("%dbx_connect ws")
    assert reply["status"] == "ok", out
    # Known once the callback page has been served (the server reads SCIM Me before answering).
    summary = (
        rf"w = WorkspaceClient for ws \(.*\) as {re.escape(ALICE)}, u2m via server; token valid"
    )
    assert re.search(summary, out), out
    out, reply = await kernel.run("print(w.current_user.me().user_name)")
    assert out.strip() == ALICE

    out, reply = await kernel.run(
        "import time\n"
        "cache = w.config._credentials_strategy.cache\n"
        "seen, end = set(), time.monotonic() + 16\n"
        "while time.monotonic() < end:\n"
        f"    assert w.current_user.me().user_name == {ALICE!r}\n"
        "    seen.add(hash(cache.peek().access_token.reveal()))\n"
        "    time.sleep(0.5)\n"
        "print('distinct', len(seen))",
        timeout=60,
    )
    assert reply["status"] == "ok", out
    assert int(out.split()[-1]) >= 4  # a new token each lifetime, no user action

    # M2M connection with no secret stored: says so and how to add one.
    out, reply = await kernel.run("%dbx_connect etl")
    assert reply["status"] == "error"
    assert "No OAuth secret is stored" in out and "picker()" in out
    assert "Traceback" not in out

    # A canary client secret is rejected by the emulator and appears in no output.
    out, reply = await kernel.run("%dbx_connect canary")
    assert reply["status"] == "error" and "invalid_client" in out, out

    # The picker in the kernel: add a service principal with a canary secret (rejected), then
    # dump every widget's state.
    etl = dbx_emulator.service_principal(ETL_SP)
    out, reply = await kernel.run(
        "import jupyter_dbx_auth, json\n"
        "p = jupyter_dbx_auth.picker('etl')\n"
        "def typed(widget, value):  # as a browser's update arrives over the comm\n"
        "    msg = {'method': 'update', 'state': {'value': value}, 'buffer_paths': []}\n"
        "    widget._handle_msg({'content': {'data': msg}, 'buffers': []})\n"
        f"typed(p.sp_client_id, {etl['client_id']!r})\n"
        f"typed(p.sp_secret, {CANARY!r})\n"
        "print('saved', p.on_save())\n"
        "print('message', p.model.state.message)\n"
        "from ipywidgets.widgets.widget import _instances\n"
        "print(json.dumps([x.get_state() for x in list(_instances.values())], default=str))\n"
        "p.close()"
    )
    assert reply["status"] == "ok", out
    assert "saved False" in out and "invalid_client" in out, out
    # The cell source (echoed in execute_input) carries the canary by construction; outputs,
    # widget state and every other message must not.
    for msg in kernel.messages:
        if msg["msg_type"] == "execute_input":
            continue
        blob = json.dumps(msg["content"], default=str)
        assert CANARY not in blob, msg["msg_type"]
        assert etl["secret"] not in blob
