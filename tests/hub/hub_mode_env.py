"""A real hub whose single-user servers run in hub mode (the server extension asking the `dbx-auth`
service), and what a test needs to act as a person there: a browser signed in to the hub and to
the user's server (cookies, the server's XSRF token), the server's REST API with the user's hub
token, the server's event stream, and a real kernel of that server reached over its websocket.
Used by `test_hub_mode.py`; the Galata test drives the same hub through JupyterLab."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import httpx
from browser import sign_in
from harness import SERVICE, Hub, HubBrowser

from jupyter_dbx_auth.emulator.harness import EmulatorProcess

EMAILS = {"alice": "alice@example.com", "bob": "bob@example.com"}

#: A service principal of alice's own, in her ~/.databrickscfg (a local connection, not the hub's).
OWN_SP = {
    "id": "2000000000000009",
    "application_id": "5e1f0c1a-7d2b-4c3e-9f10-00000000a009",
    "display_name": "alice-own-sp",
    "account_admin": False,
    "secrets": ["emu-sp-alice-own-secret-000000000009"],
}


def hub_mode_config(hub: Hub, *, poll_interval: float = 1.0) -> str:
    """The hub's config lines for hub mode: the single-user environment naming the service and
    its address (the service's own port, as `docs/hub/jupyterhub_config.py` does), and named
    servers."""
    env = {
        "JUPYTER_DBX_AUTH_HUB_SERVICE": SERVICE,
        "JUPYTER_DBX_AUTH_HUB_SERVICE_URL": (
            f"http://127.0.0.1:{hub.service_port}/services/{SERVICE}/"
        ),
    }
    return "\n".join(
        [
            "c.JupyterHub.allow_named_servers = True",
            f"c.Spawner.environment.update({env!r})",
            f"c.Spawner.args = list(c.Spawner.args) + ['--DatabricksAuth.hub_poll_interval="
            f"{poll_interval}']",
        ]
    )


def write_own_profiles(home: Path, emulator: EmulatorProcess) -> None:
    """alice's own ~/.databrickscfg: `mine` (her service principal) and `emu`, a name the hub
    also has (the hub's wins)."""
    home.mkdir(parents=True, exist_ok=True)
    profile = (
        f"host = {emulator.url}\nclient_id = {OWN_SP['application_id']}\n"
        f"client_secret = {OWN_SP['secrets'][0]}\n"
    )
    (home / ".databrickscfg").write_text(f"[mine]\n{profile}\n[emu]\n{profile}")
    (home / ".databrickscfg").chmod(0o600)


class Person:
    """A hub user's browser on the hub and on one of their servers (`prefix`: /user/<u>/[name/])."""

    def __init__(self, hub: Hub, user: str, prefix: str | None = None) -> None:
        self.hub, self.user = hub, user
        self.prefix = prefix or f"/user/{user}/"
        self.browser: HubBrowser = hub.browser().login(user)

    @property
    def server(self) -> str:
        return self.hub.url.rstrip("/") + self.prefix

    def open_server(self, prefix: str | None = None) -> httpx.Response:
        """Open a page of a server (hub OAuth to it): its cookie and `_xsrf` land in the jar."""
        return self.browser.get(self.hub.url.rstrip("/") + (prefix or self.prefix) + "lab")

    def xsrf(self, prefix: str | None = None) -> str:
        path = (prefix or self.prefix).rstrip("/")
        for cookie in self.browser.http.cookies.jar:
            if cookie.name == "_xsrf" and cookie.path.rstrip("/") == path:
                return cookie.value or ""
        return ""

    def api(self, method: str, path: str, prefix: str | None = None, **kw: Any) -> httpx.Response:
        """A request to a server's API as JupyterLab makes it: cookie, XSRF header on writes."""
        base = self.hub.url.rstrip("/") + (prefix or self.prefix)
        headers = {"X-XSRFToken": self.xsrf(prefix)} if method != "GET" else {}
        return self.browser.http.request(
            method, base + path, headers=headers, follow_redirects=False, **kw
        )

    def connections(self, prefix: str | None = None) -> dict[str, dict[str, Any]]:
        response = self.api("GET", "dbx-auth/api/connections", prefix)
        assert response.status_code == 200, (response.status_code, response.text[:300])
        return {c["name"]: c for c in response.json()["connections"]}

    def close(self) -> None:
        self.browser.close()


class EventStream:
    """`api/events` of a server, read in a thread as the sidebar's EventSource does."""

    def __init__(self, person: Person) -> None:
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._stop = threading.Event()
        self._person = person
        self._opened = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._opened.wait(60), "the event stream did not open"

    def _run(self) -> None:
        try:
            self._read()
        except Exception:  # a stream closed by the test or the hub stopping is not a failure
            if not self._stop.is_set():
                raise

    def _read(self) -> None:
        http = self._person.browser.http
        url = self._person.server + "dbx-auth/api/events"
        with http.stream("GET", url, timeout=httpx.Timeout(10, read=None)) as response:
            assert response.status_code == 200, response.status_code
            kind = ""
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    self.events.put((kind, json.loads(line[6:])))
                    if kind == "snapshot":
                        self._opened.set()

    def wait_for(self, check: Any, timeout: float) -> dict[str, Any]:
        """The first `status` event for which `check(event)` is true."""
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                kind, data = self.events.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append((kind, data.get("name"), data.get("status")))
            if kind == "status" and check(data):
                return data
        raise AssertionError(f"no such event in {timeout} s; seen {seen}")

    def close(self) -> None:
        self._stop.set()


def user_server_token(hub: Hub, user: str) -> str:
    """A hub token of `user` for their own servers (what a script of theirs would hold)."""
    response = hub.api.post(
        f"users/{user}/tokens", json={"scopes": [f"access:servers!user={user}"], "note": "test"}
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


def start_named_server(hub: Hub, user: str, name: str, timeout: float = 150) -> None:
    response = hub.api.post(f"users/{user}/servers/{name}")
    assert response.status_code in (201, 202, 400), response.text
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server = hub.api.get(f"users/{user}").json().get("servers", {}).get(name)
        if server and server.get("ready"):
            return
        time.sleep(0.5)
    raise RuntimeError(f"{user}'s server {name} did not start:\n{hub.log_tail()}")


class RemoteKernel:
    """A real kernel of a user's server, started and run through the server's REST API and
    websocket (as JupyterLab does), authenticated with the user's token."""

    def __init__(self, server: str, token: str) -> None:
        self.server, self.token = server, token
        headers = {"Authorization": f"token {token}"}
        started = httpx.post(
            server + "api/kernels", json={"name": "python3"}, headers=headers, timeout=120
        )
        assert started.status_code == 201, started.text
        self.id = started.json()["id"]

    def run(self, code: str, timeout: float = 120) -> tuple[str, str]:
        return asyncio.run(self._execute(code, timeout))

    async def _execute(self, code: str, timeout: float) -> tuple[str, str]:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        ws_url = self.server.replace("http://", "ws://") + f"api/kernels/{self.id}/channels"
        request = HTTPRequest(
            ws_url, headers={"Authorization": f"token {self.token}"}, connect_timeout=60
        )
        ws = await websocket_connect(request)
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": "execute_request", "username": "test"}
        header.update(session=uuid.uuid4().hex, version="5.3")
        content = {"code": code, "silent": False, "store_history": False}
        message = {"header": header, "parent_header": {}, "metadata": {}, "content": content}
        ws.write_message(json.dumps({**message, "channel": "shell"}))
        out: list[str] = []
        status, idle = "", False  # iopub's idle and shell's reply arrive in either order
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and not (idle and status):
                raw = await asyncio.wait_for(ws.read_message(), deadline - time.monotonic())
                assert raw is not None, "kernel websocket closed"
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, body = msg["msg_type"], msg["content"]
                if kind == "stream":
                    out.append(body["text"])
                elif kind in ("execute_result", "display_data"):
                    out.append(body["data"].get("text/plain", ""))
                elif kind == "error":
                    out.append("\n".join(body["traceback"]))
                elif kind == "execute_reply":
                    status = body["status"]
                elif kind == "status" and body["execution_state"] == "idle":
                    idle = True
        finally:
            ws.close()
        return "".join(out), status

    def pid_environ(self) -> dict[str, str]:
        """The kernel process's environment (found by its kernel id on the command line)."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
                if self.id.encode() not in cmdline:
                    continue
                raw = (entry / "environ").read_bytes()
            except OSError:
                continue
            return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)
        raise LookupError(f"kernel {self.id} not found")


def path_of(url: str) -> str:
    return urlparse(url).path


class Env:
    def __init__(self, hub: Hub, emulator: EmulatorProcess, db: str) -> None:
        self.hub, self.emulator, self.db = hub, emulator, db
        self.people: dict[str, Person] = {}
        self.tokens: dict[str, str] = {}
        self.kernels: dict[str, RemoteKernel] = {}

    def person(self, user: str) -> Person:
        if user not in self.people:
            self.people[user] = person = Person(self.hub, user)
            assert person.open_server().status_code == 200
            assert person.xsrf(), "no _xsrf cookie from the server's page"
        return self.people[user]

    def kernel(self, user: str) -> RemoteKernel:
        if user not in self.kernels:
            kernel = RemoteKernel(self.person(user).server, self.tokens[user])
            out, status = kernel.run("%load_ext jupyter_dbx_auth")
            assert status == "ok", out
            self.kernels[user] = kernel
        return self.kernels[user]

    def password(self, user: str) -> str:
        return self.emulator.user(EMAILS[user])["password"]

    def begin(self, user: str, prefix: str | None = None) -> str:
        """Press Log in on `emu` in the sidebar of `user`'s server: the URL the window opens."""
        reply = self.person(user).api("POST", "dbx-auth/api/connections/emu/login", prefix, json={})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        server = prefix or f"/user/{user}/"
        back = quote(f"{server}dbx-auth/signed-in/emu", safe="")
        assert body["authorize_url"] == f"/services/{SERVICE}/login/emu?next={back}", body
        assert body["finish"] == "callback" and body["expires_at"] > time.time()
        return body["authorize_url"]

    def at_databricks(self, user: str, authorize_url: str) -> str:
        """The window: hub OAuth to the service, Databricks' form; the hub callback URL."""
        browser = self.person(user).browser
        page = browser.get(self.hub.url.rstrip("/") + authorize_url)
        assert page.status_code == 200, (page.url, page.text[:300])
        callback = sign_in(str(page.url), EMAILS[user], self.password(user), client=browser.http)
        assert callback.startswith(self.hub.service_url + "callback?"), callback
        return callback

    def sign_in(self, user: str, prefix: str | None = None) -> httpx.Response:
        callback = self.at_databricks(user, self.begin(user, prefix))
        done = self.person(user).browser.get(callback)  # the hub callback, then `next`
        assert done.status_code == 200, (done.url, done.text[:300])
        return done
