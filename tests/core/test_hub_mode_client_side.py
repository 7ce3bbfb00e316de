"""`AuthService` in hub mode (`core.service.hub_mode`), in-process and fast: the hub service is a
loopback stand-in answering with its documented shapes (`docs/hub/README.md`), whose answers the
test changes as the real service's would change. The real service under a real JupyterHub:
`tests/hub/test_hub_mode.py`."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from jupyter_dbx_auth.core.errors import BadRequest, LoginRequired
from jupyter_dbx_auth.core.hub_client import HubEndpoint, HubServiceClient, HubServiceUnavailable
from jupyter_dbx_auth.core.oauth.tokens import fingerprint
from jupyter_dbx_auth.core.secret import Secret
from jupyter_dbx_auth.core.service import AuthService, ServiceSettings
from jupyter_dbx_auth.core.store.memory import MemoryStore

HOST = "https://adb-1.example.azuredatabricks.net"


def entry(name: str, status: str, identity: str | None = None, method: str = "u2m") -> dict:
    return {
        "name": name,
        "host": HOST,
        "method": method,
        "account_id": None,
        "account": False,
        "client_id": "app",
        "scopes": ["all-apis"],
        "source": "config",
        "status": status,
        "state": status,
        "reason": None if status == "ok" else "not_signed_in",
        "message": None,
        "hint": None,
        "warnings": [],
        "identity": identity,
        "expires_at": None,
        "sign_in": None,
        "credentials": "stored" if method == "m2m" else None,
    }


class Stand:
    """The service's state as the test sets it; `down` answers nothing (connection refused)."""

    def __init__(self) -> None:
        self.connections = [entry("emu", "logged_out"), entry("emu@g", "ok", method="m2m")]
        self.token_status = 409
        self.tokens = 0
        self.rejected: list[str | None] = []


@pytest.fixture
def stand() -> Iterator[tuple[Stand, str]]:
    state = Stand()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            if path.endswith("/api/status"):
                self._send(200, {"user": "alice", "connections": state.connections})
            elif "/api/token/" in path and state.token_status == 200:
                state.tokens += 1
                state.rejected.append(query.partition("rejected=")[2] or None)
                token = {"access_token": f"at-{state.tokens}", "expires_at": time.time() + 600}
                self._send(200, token)
            else:
                self._send(state.token_status, {"error": "LoginRequired", "message": "No."})

        def _send(self, status: int, body: Any) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_port}/services/dbx-auth/"
    server.shutdown()
    server.server_close()


@pytest.fixture
async def service(stand, tmp_path: Path) -> AsyncIterator[AuthService]:
    _, url = stand
    cfg = tmp_path / "databrickscfg"
    cfg.write_text(f"[emu]\nhost = {HOST}\ntoken = dapi-own\n\n[mine]\nhost = {HOST}\ntoken = x\n")
    http = httpx.AsyncClient(trust_env=False)
    endpoint = HubEndpoint("dbx-auth", url, "/services/dbx-auth/", Secret("server-token"))
    svc = AuthService(
        store=MemoryStore(),
        http=http,
        config_file=cfg,
        env={},
        settings=ServiceSettings(hub_poll_interval=0.05, login_ttl=5),
        hub=HubServiceClient(endpoint, http, timeout=2),
    )
    svc.events.bind(asyncio.get_running_loop())
    svc.reload()
    await svc.ready()
    yield svc
    await svc.aclose()
    await http.aclose()


def listed(listing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in listing["connections"]}


async def test_hub_connections_beside_own_ones_the_hubs_win(service: AuthService) -> None:
    conns = listed(await service.list_connections())
    assert set(conns) == {"emu", "emu@g", "mine"}
    assert conns["emu"]["source"] == "hub" and conns["mine"]["source"] == "profile:mine"
    assert any("hidden by the hub's connection" in w for w in conns["emu"]["warnings"])
    assert conns["emu@g"]["method"] == "m2m" and not conns["mine"]["warnings"]
    with pytest.raises(BadRequest, match="sign-in for this connection happens at the hub"):
        service.refuse_on_hub(service.get("emu"), "importing a Databricks CLI sign-in")
    service.refuse_on_hub(service.get("mine"), "importing")  # a local one: nothing refused


async def test_pending_sign_in_ends_by_polling_and_is_published(
    service: AuthService, stand
) -> None:
    state, _ = stand
    events = service.events.open()
    hub = service.hub
    assert hub is not None
    url = await hub.begin(service.get("emu"), next_url="/user/alice/dbx-auth/signed-in/emu")
    assert url == ("/services/dbx-auth/login/emu?next=%2Fuser%2Falice%2Fdbx-auth%2Fsigned-in%2Femu")
    assert (await service.connection_status(service.get("emu")))["status"] == "login_pending"
    await asyncio.sleep(0.2)  # polls: still logged out at the hub, still pending here
    assert (await service.connection_status(service.get("emu")))["status"] == "login_pending"
    state.connections[0] = entry("emu", "ok", "alice@example.com")
    deadline = time.monotonic() + 5
    while True:
        event = await asyncio.wait_for(events.get(), deadline - time.monotonic())
        if event and event["name"] == "emu" and event["status"] == "ok":
            break
    assert event["identity"] == "alice@example.com"
    with pytest.raises(BadRequest, match="nothing to sign in"):
        await hub.begin(service.get("emu@g"), next_url="/")


async def test_cancel_puts_back_the_status_from_before(service: AuthService) -> None:
    hub = service.hub
    assert hub is not None
    await hub.begin(service.get("emu"), next_url="/")
    status = await service.cancel_login_of(service.get("emu"), user="alice")
    assert (status["status"], status["reason"]) == ("logged_out", "cancelled")
    await asyncio.sleep(0.2)
    assert (await service.connection_status(service.get("emu")))["status"] == "logged_out"


async def test_a_sign_in_given_up_here_is_not_pending_again(service: AuthService, stand) -> None:
    """The service keeps a started sign-in as pending until its own timeout: after Cancel here,
    reading the service's status must not turn the connection back to "pending"."""
    state, _ = stand
    hub = service.hub
    assert hub is not None
    conn = service.get("emu")
    await hub.begin(conn, next_url="/")
    state.connections[0] = entry("emu", "login_pending")
    await service.cancel_login_of(conn, user="alice")
    await hub.refresh()
    status = await service.connection_status(conn)
    assert (status["status"], status["reason"]) == ("logged_out", "cancelled")
    listed_now = listed(await service.list_connections())["emu"]
    assert (listed_now["status"], listed_now["reason"]) == ("logged_out", "cancelled")
    # The service moves on (the window was not closed after all: signed in): that is shown.
    state.connections[0] = entry("emu", "ok", "alice@example.com")
    await hub.refresh()
    assert (await service.connection_status(conn))["status"] == "ok"
    # A new sign-in started here is pending again, whatever the service said before.
    await hub.begin(conn, next_url="/")
    assert (await service.connection_status(conn))["status"] == "login_pending"


async def test_tokens_come_from_the_hub_cached_and_rejected_passed_on(
    service: AuthService, stand
) -> None:
    state, _ = stand
    conn = service.get("emu")
    with pytest.raises(LoginRequired) as refused:
        await service.token(conn)
    assert refused.value.error == "not_signed_in"  # the hub lists it as logged out
    state.token_status = 200
    first = await service.token(conn)
    assert (await service.token(conn)) is first and state.tokens == 1  # cached
    second = await service.token(conn, rejected=fingerprint(first.access_token))
    assert second.access_token.reveal() == "at-2"
    assert state.rejected == [None, fingerprint(first.access_token)]


async def test_an_unreachable_hub_is_an_error_that_heals(service: AuthService) -> None:
    hub = service.hub
    assert hub is not None
    good = hub.client
    dead = HubEndpoint("dbx-auth", "http://127.0.0.1:9/", "/", Secret("t"))
    hub.client = HubServiceClient(dead, good.http, timeout=2)
    listing = await service.list_connections()
    conns = listed(listing)
    assert conns["emu"]["status"] == "error" and "could not be reached" in conns["emu"]["message"]
    assert conns["mine"]["status"] == "ok"  # local connections are not affected
    assert [p["name"] for p in listing["problems"]] == ["hub:dbx-auth"]
    with pytest.raises(HubServiceUnavailable):
        service.get("not-yet-known")
    hub.client = good  # the service is back: nobody lists, the server reads again by itself
    deadline = time.monotonic() + 5
    while (await service.connection_status(service.get("emu")))["status"] != "logged_out":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert hub.problem is None
