"""databricks-sdk's `metadata-service` auth type, answered by the server on a loopback port.

The real databricks-sdk signs in with only `auth_type="metadata-service"` and the URL; a wrong
secret, a missing protocol header, a mismatched `X-Databricks-Host` and a browser are refused; the
URL is handed to kernels only; and no log record the process emits at DEBUG names the secret:
neither the server's nor the SDK's (urllib3 logs request paths; the secret is the URL's password,
which HTTP clients send as a Basic authorization header).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_helpers import login

ALICE = "alice@example.com"
SYSTEM_PY = "/usr/bin/python3"  # one another OS user may run (the venv may live under /root)
V1 = {"X-Databricks-Metadata-Version": "1"}


@pytest.fixture
def records(monkeypatch) -> list[logging.LogRecord]:
    """Every log record any logger in this process handles, at DEBUG everywhere (as --debug)."""
    seen: list[logging.LogRecord] = []
    original = logging.Logger.handle

    def handle(self: logging.Logger, record: logging.LogRecord) -> None:
        seen.append(record)
        original(self, record)

    monkeypatch.setattr(logging.Logger, "handle", handle)
    for name in (
        "",
        "ServerApp",
        "tornado",
        "tornado.access",
        "tornado.general",
        "jupyter_dbx_auth",
    ):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.DEBUG)
    return seen


@pytest.fixture
def dbx_extra_config() -> dict[str, Any]:
    return {"default_connection": "ws"}


async def metadata_url(kernel_client: httpx.AsyncClient, connection: str = "ws") -> str:
    r = await kernel_client.get("dbx-auth/api/metadata-service", params={"connection": connection})
    assert r.status_code == 200, r.text
    return str(r.json()["url"])


def sdk_me(host: str, url: str) -> str:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    cfg = Config(host=host, auth_type="metadata-service", metadata_service_url=url)
    w = WorkspaceClient(config=cfg)
    return str(w.current_user.me().user_name)


async def test_the_sdk_signs_in_through_it(records, browser, emulator, kernel_client, dbx_app):
    url = await metadata_url(kernel_client)
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        r = await http.get(url, headers={**V1, "X-Databricks-Host": emulator.url})
    # Not signed in yet: refused with what to do, and the server log says so too (the SDK only
    # reports "Metadata Service returned empty token").
    assert r.status_code == 409 and r.json()["error"] == "LoginRequired", r.text
    await login(browser, emulator)
    assert await metadata_url(kernel_client) == url  # the URL stays valid across sign-ins
    parts = httpx.URL(url)
    secret = parts.password
    assert parts.host == "127.0.0.1" and parts.path == "/" and len(secret or "") >= 40
    assert await metadata_url(kernel_client) == url  # one URL per connection
    assert await asyncio.to_thread(sdk_me, emulator.url, url) == ALICE

    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        ok = await http.get(url, headers={**V1, "X-Databricks-Host": emulator.url + "/"})
        assert ok.status_code == 200, ok.text
        body = ok.json()
        assert set(body) == {"access_token", "token_type", "expires_on"}
        assert body["token_type"] == "Bearer" and isinstance(body["expires_on"], int)
        assert time.time() < body["expires_on"] <= time.time() + 3600
        assert ok.headers["Cache-Control"] == "no-store"

        wrong = url.replace(secret, secret[:-4] + "AAAA")
        bare = url.replace(f"{parts.username}:{secret}@", "")
        cases = [
            (wrong, {**V1, "X-Databricks-Host": emulator.url}, 401),
            (bare, {**V1, "X-Databricks-Host": emulator.url}, 401),
            (bare + secret, {**V1, "X-Databricks-Host": emulator.url}, 404),
            (url + "x", {**V1, "X-Databricks-Host": emulator.url}, 404),
            (url, {**V1, "X-Databricks-Host": "https://other.cloud.databricks.com"}, 403),
            (url, {**V1}, 403),  # no host at all
            (url, {"X-Databricks-Host": emulator.url}, 400),  # no protocol version
            (
                url,
                {**V1, "X-Databricks-Metadata-Version": "2", "X-Databricks-Host": emulator.url},
                400,
            ),
            (url, {**V1, "X-Databricks-Host": emulator.url, "Origin": "https://evil.test"}, 403),
        ]
        for target, headers, status in cases:
            r = await http.get(target, headers=headers)
            assert r.status_code == status, (headers, r.text)
            assert "access_token" not in r.json() and r.json()["message"]
        # The SDK reads a refusal as "no token" and says so; the request never gets a token.
        with pytest.raises(ValueError, match="metadata-service"):
            await asyncio.to_thread(sdk_me, emulator.url, wrong)

    # The URL is for kernels: the browser (cookie + XSRF) and no credentials are refused.
    r = await browser.get("dbx-auth/api/metadata-service?connection=ws")
    assert r.status_code == 403
    async with httpx.AsyncClient(base_url=browser.server_url, trust_env=False) as anon:
        assert (await anon.get("dbx-auth/api/metadata-service?connection=ws")).status_code == 403

    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in records)
    assert "metadata service: 401" in logged and "metadata service: 403" in logged
    assert "metadata service: 409" in logged
    # Every record but those of this test's own raw httpx client, which logs the URL it was
    # given (tools use databricks-sdk, whose requests/urllib3 records are checked here).
    for record in (r for r in records if not r.name.startswith(("httpx", "httpcore"))):
        text = record.getMessage() + repr(record.args) + repr(record.__dict__.get("exc_text"))
        assert secret not in text, record.name
        assert secret[:-4] not in text, record.name


async def test_default_connection_is_exported_to_kernels(dbx_app, emulator, jp_serverapp):
    import os

    assert os.environ["DATABRICKS_HOST"] == emulator.url
    assert os.environ["DATABRICKS_AUTH_TYPE"] == "metadata-service"
    url = os.environ["DATABRICKS_METADATA_SERVICE_URL"]
    assert url == dbx_app._metadata.url_for("ws")


async def test_service_principal_urls_are_separate(browser, emulator, kernel_client, dbx_app):
    sp = emulator.service_principal("emulator-etl-sp")
    r = await browser.post(
        "dbx-auth/api/service-principals",
        {"connection": "etl", "client_id": sp["client_id"], "client_secret": sp["secret"]},
    )
    assert r.status_code in (200, 201), r.text
    etl = await metadata_url(kernel_client, "etl")
    assert etl != dbx_app._metadata.url_for("ws")
    me = await asyncio.to_thread(sdk_me, emulator.url, etl)
    assert me == sp["client_id"]  # a service principal's userName is its application id
    r = await kernel_client.get("dbx-auth/api/metadata-service", params={"connection": "nope"})
    assert r.status_code == 404 and "Unknown connection" in r.json()["message"]

    # The same service principal stored for the U2M connection `ws` (`--env --sp`): its own URL.
    r = await browser.post(
        "dbx-auth/api/service-principals",
        {"connection": "ws", "client_id": sp["client_id"], "client_secret": sp["secret"]},
    )
    assert r.status_code in (200, 201), r.text
    params = {"connection": "ws", "client_id": sp["client_id"]}
    r = await kernel_client.get("dbx-auth/api/metadata-service", params=params)
    assert r.status_code == 200, r.text
    ws_sp = r.json()["url"]
    assert ws_sp not in (etl, dbx_app._metadata.url_for("ws"))
    assert await asyncio.to_thread(sdk_me, emulator.url, ws_sp) == sp["client_id"]
    params["client_id"] = "not-stored"
    r = await kernel_client.get("dbx-auth/api/metadata-service", params=params)
    assert r.status_code == 409 and "No secret is stored" in r.json()["message"]


class TestTurnedOff:
    @pytest.fixture
    def dbx_extra_config(self) -> dict[str, Any]:
        return {"metadata_service": False, "default_connection": "ws"}

    async def test_no_listener_and_a_clear_answer(self, kernel_client, dbx_app):
        import os

        assert getattr(dbx_app, "_metadata", None) is None
        assert "DATABRICKS_METADATA_SERVICE_URL" not in os.environ
        r = await kernel_client.get("dbx-auth/api/metadata-service", params={"connection": "ws"})
        assert r.status_code == 409 and "metadata_service = True" in r.json()["hint"]


OTHER_USER_FETCH = """
import sys, urllib.request, urllib.error
url, host = sys.argv[1], sys.argv[2]
parts = urllib.parse.urlsplit(url)
import base64
auth = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
bare = f"http://{parts.hostname}:{parts.port}/"
req = urllib.request.Request(bare, headers={
    "X-Databricks-Metadata-Version": "1", "X-Databricks-Host": host,
    "Authorization": "Basic " + auth})
try:
    urllib.request.urlopen(req, timeout=10)
    print("status 200")
except urllib.error.HTTPError as e:
    print("status", e.code, e.read().decode())
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0 or not Path(SYSTEM_PY).exists(),
    reason="needs Linux, root (to run a process as another user) and /usr/bin/python3",
)
async def test_another_os_user_is_refused_even_with_the_url(browser, emulator, kernel_client):
    await login(browser, emulator)
    url = await metadata_url(kernel_client)

    async def fetch(**user: Any) -> str:
        proc = await asyncio.create_subprocess_exec(
            SYSTEM_PY, "-I", "-c", OTHER_USER_FETCH, url, emulator.url,
            stdout=asyncio.subprocess.PIPE, cwd="/", **user,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        return out.decode()

    assert (await fetch()).startswith("status 200")  # this user, same script: served
    refused = await fetch(user="nobody", group="nogroup", extra_groups=[])
    assert refused.startswith("status 403") and "user running Jupyter" in refused, refused


async def test_no_store_call_on_the_event_loop(browser, emulator, kernel_client, dbx_app):
    """As for the token API (test_store_off_loop.py): tools fetching tokens, a service principal
    among them, never make the server read its store on the event loop."""
    import threading

    store = dbx_app.service.store
    loop_thread = threading.current_thread()  # the server shares the test's loop
    on_loop: list[str] = []
    for name in ("get", "put", "delete", "keys"):
        real = getattr(store, name)

        def spy(*args, _real=real, _name=name, **kw):
            if threading.current_thread() is loop_thread:
                on_loop.append(_name)
            return _real(*args, **kw)

        setattr(store, name, spy)
    await login(browser, emulator)
    sp = emulator.service_principal("emulator-etl-sp")
    r = await browser.post(
        "dbx-auth/api/service-principals",
        {"connection": "ws", "client_id": sp["client_id"], "client_secret": sp["secret"]},
    )
    assert r.status_code == 201, r.text
    dbx_app.service.broker.forget(dbx_app.service.get("ws"))  # the next fetch is a cold one
    for params in ({"connection": "ws"}, {"connection": "ws", "client_id": sp["client_id"]}):
        r = await kernel_client.get("dbx-auth/api/metadata-service", params=params)
        assert r.status_code == 200, r.text
        assert await asyncio.to_thread(sdk_me, emulator.url, r.json()["url"])
    assert on_loop == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux socket tables")
def test_peer_uid_by_netlink_and_by_proc_agree():
    import socket

    from jupyter_dbx_auth.server import peer_uid as p

    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, peer = server.accept()
            with accepted:
                assert p.peer_uid(peer, port) == os.getuid()
                assert p._by_netlink(peer[1], port) == p._by_proc(peer[1], port) == os.getuid()
                assert client.getsockname()[1] == peer[1]
        assert p.peer_uid(("127.0.0.1", 1), port) is None  # no such connection
        assert p._by_proc(1, port) is None
    assert p.peer_uid(("10.0.0.1", peer[1]), port) is None  # not loopback: not asked
