"""A real JupyterHub 6.1 for tests: configurable-http-proxy from `tests/hub/node_modules` (installed
by `make hub-proxy`), DummyAuthenticator with one password, SimpleLocalProcessSpawner, users alice
and bob in different groups, and the hub-managed service `dbx-auth`.

One `Hub` per test module: starting one costs a few seconds (hub, proxy, service), and a user's
single-user server a few more, so tests share them. Everything the hub starts runs in its own
process group, which `stop()` ends (and only that group).

`HubBrowser` plays a person's browser: a cookie jar that logs in on the hub's login form and
follows redirects (hub OAuth to services included), as a browser would.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROXY = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
SERVICE = "dbx-auth"
#: Users and their groups: different groups, so group-scoped access can be told apart.
USERS = {"alice": "data-science", "bob": "finance"}
ADMIN = "hubadmin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proxy_available() -> bool:
    return PROXY.exists()


class Hub:
    """A JupyterHub process (with its proxy and services) in `workdir`."""

    def __init__(
        self,
        workdir: Path,
        *,
        service_command: list[str] | None = None,
        service_environment: dict[str, str] | None = None,
        extra_config: str = "",
        ready_path: str = "api/whoami",
        port: int | None = None,
    ) -> None:
        """`port`: the proxy's public port, when a caller must know it before the hub starts
        (the UI tests' Playwright config); a free one otherwise."""
        self.workdir = workdir
        self.password = "pw-" + secrets.token_hex(8)  # DummyAuthenticator's one password
        self.admin_token = secrets.token_hex(24)  # the harness's own service token
        self.port, self.hub_port, self.api_port, self.service_port = (free_port() for _ in range(4))
        self.port = port or self.port
        self.url = f"http://127.0.0.1:{self.port}/"
        self.service_url = f"{self.url}services/{SERVICE}/"
        self.service_command = service_command or [sys.executable, str(HERE / "whoami_service.py")]
        self.service_environment = service_environment or {}
        self.extra_config = extra_config
        self.ready_path = ready_path  # a service path that answers 403 to an anonymous request
        self.proc: subprocess.Popen[bytes] | None = None
        self.api = httpx.Client(
            base_url=f"{self.url}hub/api/",
            headers={"Authorization": f"token {self.admin_token}"},
            trust_env=False,
            timeout=30,
        )

    # -- configuration --
    def config(self) -> str:
        path_env = {
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "PYTHONPATH": str(ROOT),
        }
        service = {
            "name": SERVICE,
            "url": f"http://127.0.0.1:{self.service_port}",
            "command": self.service_command,
            "environment": {**path_env, **self.service_environment},
            "oauth_no_confirm": True,
        }
        groups = {}
        for user, group in USERS.items():
            groups.setdefault(group, {"users": []})["users"].append(user)
        singleuser_args = ["--ServerApp.allow_root=True"] if os.geteuid() == 0 else []
        lines = [
            f"c.JupyterHub.bind_url = {self.url!r}",
            f"c.JupyterHub.hub_bind_url = 'http://127.0.0.1:{self.hub_port}'",
            f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{self.api_port}'",
            f"c.ConfigurableHTTPProxy.command = [{str(PROXY)!r}]",
            f"c.ConfigurableHTTPProxy.auth_token = {secrets.token_hex(24)!r}",
            f"c.JupyterHub.db_url = 'sqlite:///{self.workdir}/jupyterhub.sqlite'",
            f"c.JupyterHub.cookie_secret_file = '{self.workdir}/cookie_secret'",
            f"c.JupyterHub.pid_file = '{self.workdir}/jupyterhub.pid'",
            "c.JupyterHub.cleanup_servers = True",
            "c.JupyterHub.authenticator_class = 'dummy'",
            f"c.DummyAuthenticator.password = {self.password!r}",
            f"c.Authenticator.allowed_users = {set(USERS)!r}",
            f"c.Authenticator.admin_users = {{{ADMIN!r}}}",
            f"c.JupyterHub.load_groups = {groups!r}",
            "c.JupyterHub.spawner_class = 'simple'",
            f"c.SimpleLocalProcessSpawner.home_dir_template = '{self.workdir}/home/{{username}}'",
            f"c.Spawner.cmd = [{str(Path(sys.executable).parent / 'jupyterhub-singleuser')!r}]",
            f"c.Spawner.args = {singleuser_args!r}",
            f"c.Spawner.environment = {path_env!r}",
            "c.Spawner.start_timeout = 90",
            "c.Spawner.http_timeout = 90",
            # The server's own token may call the token service (and nothing more of it).
            "c.Spawner.server_token_scopes = ["
            f"'access:services!service={SERVICE}', 'users:activity!user']",
            # Every user may sign in to the token service through hub OAuth.
            f"c.JupyterHub.extra_user_scopes = {{'access:services!service={SERVICE}'}}",
            f"c.JupyterHub.services = [{service!r}, "
            f"{{'name': 'harness', 'api_token': {self.admin_token!r}}}]",
            "c.JupyterHub.load_roles = [{'name': 'harness', 'services': ['harness'], "
            "'scopes': ['admin:users', 'admin:servers', 'admin:groups', 'read:hub', 'tokens']}]",
            self.extra_config,
        ]
        return "\n".join(lines) + "\n"

    # -- lifecycle --
    def start(self, timeout: float = 90) -> Hub:
        if not proxy_available():
            raise RuntimeError(f"{PROXY} is missing: run `make hub-proxy` (part of `make test`)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "jupyterhub_config.py").write_text(self.config())
        log = (self.workdir / "hub.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(self.workdir / "jupyterhub_config.py")],
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            start_new_session=True,  # its own process group: stop() ends the proxy and servers too
        )
        log.close()
        deadline = time.monotonic() + timeout
        self._wait(lambda: self.api.get("").status_code == 200, deadline, "the hub API")
        self._wait(
            lambda: (
                httpx.get(self.service_url + self.ready_path, trust_env=False).status_code == 403
            ),
            deadline,
            f"the {SERVICE} service",
        )
        return self

    def _wait(self, ready: Any, deadline: float, what: str) -> None:
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"the hub exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                if ready():
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not come up in time:\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = (self.workdir / "hub.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        self.api.close()
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = os.getpgid(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)  # the hub stops its servers, services and proxy
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        try:
            os.killpg(pgid, signal.SIGKILL)  # whatever of that group is left
        except ProcessLookupError:
            pass

    # -- users' servers --
    def start_server(self, user: str, timeout: float = 120) -> dict[str, Any]:
        """Start `user`'s default server through the REST API; return the user model when ready."""
        response = self.api.post(f"users/{user}/server")
        assert response.status_code in (201, 202, 400), response.text  # 400: already running
        deadline = time.monotonic() + timeout
        while True:
            model = self.api.get(f"users/{user}").json()
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                return model
            if time.monotonic() > deadline:
                raise RuntimeError(f"{user}'s server did not start in time:\n{self.log_tail()}")
            time.sleep(0.3)

    def server_environ(self, user: str) -> dict[str, str]:
        """The environment of `user`'s running single-user server process (read from /proc)."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                raw = (entry / "environ").read_bytes()
            except OSError:
                continue
            env = dict(
                item.split("=", 1)
                for item in raw.decode(errors="replace").split("\0")
                if "=" in item
            )
            # This hub's server, not one of another hub on the machine (tests run side by side).
            ours = env.get("JUPYTERHUB_API_URL", "").startswith(
                f"http://127.0.0.1:{self.hub_port}/"
            )
            if env.get("JUPYTERHUB_USER") == user and "JUPYTERHUB_SERVER_NAME" in env and ours:
                if env.get("JUPYTERHUB_SERVICE_URL", "").startswith("http://127.0.0.1"):
                    return env
        raise LookupError(f"no single-user server process found for {user}")

    def service_pid(self) -> int:
        """The pid of the running `dbx-auth` service process (started by the hub)."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                raw = (entry / "environ").read_bytes()
            except OSError:
                continue
            if f"JUPYTERHUB_SERVICE_NAME={SERVICE}".encode() in raw.split(b"\0") and (
                f"127.0.0.1:{self.service_port}".encode() in raw
            ):
                return int(entry.name)
        raise LookupError(f"no {SERVICE} service process found")

    def server_token(self, user: str) -> str:
        return self.server_environ(user)["JUPYTERHUB_API_TOKEN"]

    def browser(self) -> HubBrowser:
        return HubBrowser(self)

    def __enter__(self) -> Hub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _LoginForm(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")


class HubBrowser:
    """A browser with a cookie jar: logs in on the hub's form, then follows redirects."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.http = httpx.Client(trust_env=False, timeout=30, follow_redirects=True)

    def login(self, user: str, password: str | None = None) -> HubBrowser:
        page = self.http.get(f"{self.hub.url}hub/login")
        form = _LoginForm()
        form.feed(page.text)
        assert page.status_code == 200 and form.action is not None, page.status_code
        data = {**form.fields, "username": user, "password": password or self.hub.password}
        # Not followed: after login the hub would send us on to spawn a server we do not need.
        result = self.http.post(
            urljoin(str(page.url), form.action), data=data, follow_redirects=False
        )
        if result.status_code != 302:
            raise AssertionError(f"hub login as {user} failed ({result.status_code})")
        return self

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(url, **kwargs)

    def json(self, url: str) -> Any:
        response = self.http.get(url)
        assert response.status_code == 200, (
            response.status_code,
            response.url,
            response.text[:300],
        )
        return json.loads(response.text)

    def close(self) -> None:
        self.http.close()
