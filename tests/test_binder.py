"""binder/: what repo2docker would run, without Docker.

A copy of the checkout (tracked files plus the labextension `make setup` built) gets a clean
virtualenv; `pip install -r binder/requirements.txt` and `binder/postBuild` run in it as
repo2docker runs them; then `binder/start jupyter lab ...` with Binder's JUPYTERHUB_SERVICE_PREFIX.
The test checks that the server comes up with the labextension, that jupyter-server-proxy serves
the emulator's pages at `{base_url}dbx-emulator/` (the sign-in form works through it, with a
cookie-jar client carrying the Jupyter token), that the demo profiles are there, and that a kernel
of that server runs `%dbx_connect emulator-sp --sql` against the emulator's warehouse.

Then a user signs in as themselves, as on Binder: a cookie-jar browser reaches JupyterLab at
`https://binder.example.test{PREFIX}` (a non-loopback origin, routed to the server's loopback
port), starts the U2M sign-in (the public `databricks-cli` app), signs in at the emulator's page
through the proxy path on that origin, stops at `http://localhost:8020/?code=...` and pastes it
(with XSRF); `%dbx_connect emulator` in a kernel of that server then runs as alice.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

# A clean virtualenv downloads and installs everything: 1.5-3 min here.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parent.parent
LABEXT = REPO / "jupyter_dbx_auth" / "labextension"
PREFIX = "/user/binder-test/"
BINDER_ORIGIN = "https://binder.example.test"  # what the browser sees; JupyterHub's public URL
ALICE = "alice@example.com"
ADMIN_SP_CLIENT_ID = "5e1f0c1a-7d2b-4c3e-9f10-00000000a001"  # the seed's first SP with a secret


def copy_checkout(dest: Path) -> None:
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    shutil.copytree(LABEXT, dest / "jupyter_dbx_auth" / "labextension")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def binder_env(tmp_path: Path) -> dict[str, str]:
    if not (LABEXT / "package.json").exists():
        pytest.skip("the labextension is not built (`make setup` builds it)")
    repo = tmp_path / "repo"
    copy_checkout(repo)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))},
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "HOME": str(tmp_path / "home"),
        # The real user's pip cache: a rerun does not download everything again.
        "PIP_CACHE_DIR": str(Path(pwd.getpwuid(os.getuid()).pw_dir) / ".cache" / "pip"),
    }
    Path(env["HOME"]).mkdir()
    started = time.monotonic()
    subprocess.run(
        ["python", "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"],
        cwd=repo,
        env=env,
        check=True,
        timeout=600,
    )
    subprocess.run(["bash", "binder/postBuild"], cwd=repo, env=env, check=True, timeout=600)
    print(f"requirements + postBuild: {time.monotonic() - started:.0f} s")
    return {**env, "REPO": str(repo), "VENV": str(venv)}


class Server:
    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.port = free_port()
        self.token = secrets.token_urlsafe(16)
        self.base = f"http://127.0.0.1:{self.port}{PREFIX}"
        self.log = tmp_path / "server.log"
        run_env = {
            **env,
            "JUPYTERHUB_SERVICE_PREFIX": PREFIX,
            "JUPYTERHUB_PUBLIC_URL": BINDER_ORIGIN + PREFIX,
            "DBX_DEMO_DIR": str(tmp_path / "demo"),
        }
        with self.log.open("w") as log:
            # Its own process group: the server and the emulator the start script launched.
            command = ["bash", "binder/start", "jupyter", "lab", "--no-browser"]
            self.proc = subprocess.Popen(
                [
                    *command,
                    f"--port={self.port}",
                    f"--ServerApp.base_url={PREFIX}",
                    f"--IdentityProvider.token={self.token}",
                    "--ServerApp.allow_root=True",
                    # Binder's server listens on 0.0.0.0, which allows other Host names.
                    "--ServerApp.allow_remote_access=True",
                ],
                cwd=env["REPO"],
                env=run_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.http = httpx.Client(
            trust_env=False, timeout=30, headers={"Authorization": f"token {self.token}"}
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if self.http.get(self.base + "api/status").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"server did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.http.close()
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def run_in_kernel(self, kernel_id: str, code: str, timeout: float = 120) -> tuple[str, str]:
        return asyncio.run(self._execute(kernel_id, code, timeout))

    async def _execute(self, kernel_id: str, code: str, timeout: float) -> tuple[str, str]:
        from tornado.websocket import websocket_connect

        url = self.base.replace("http://", "ws://") + f"api/kernels/{kernel_id}/channels"
        ws = await websocket_connect(
            httpx.URL(url, params={"token": self.token}).__str__(), connect_timeout=30
        )
        msg_id = uuid.uuid4().hex
        ws.write_message(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "username": "test",
                        "session": uuid.uuid4().hex,
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {"code": code, "silent": False, "store_history": False},
                    "channel": "shell",
                }
            )
        )
        out: list[str] = []
        status = ""
        idle = False  # iopub's idle and shell's reply arrive in either order
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            raw = await asyncio.wait_for(ws.read_message(), deadline - time.monotonic())
            assert raw is not None, "kernel websocket closed"
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                out.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                out.append("\n".join(content["traceback"]))
            elif kind == "execute_reply":
                status = content["status"]
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True  # every output of the cell came before it on iopub
            if idle and status:
                break
        ws.close()
        return "".join(out), status


class _ToServer(httpx.HTTPTransport):
    """Routes the Binder origin to the server's loopback port, keeping the browser's Host."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # A copy: the client files cookies under the original request's URL (the Binder origin).
        url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        return super().handle_request(
            httpx.Request(request.method, url, headers=request.headers, stream=request.stream)
        )


class BinderBrowser:
    """A cookie-jar browser that knows JupyterLab only as `BINDER_ORIGIN{PREFIX}`."""

    def __init__(self, server: Server) -> None:
        self.base = BINDER_ORIGIN + PREFIX
        self.http = httpx.Client(
            trust_env=False, timeout=30, mounts={BINDER_ORIGIN: _ToServer(server.port)}
        )
        # The login page hands out the _xsrf cookie; the token URL the login cookie.
        self.http.get(self.base + "login")
        assert self.http.cookies.get("_xsrf")
        status = self.http.get(self.base + f"api/status?token={server.token}")
        assert status.status_code == 200, status.text

    def post(self, path: str, body: dict) -> httpx.Response:
        xsrf = {"X-XSRFToken": self.http.cookies.get("_xsrf") or ""}
        return self.http.post(self.base + path, json=body, headers=xsrf)


def sign_in_as_alice_by_paste(server: Server, password: str) -> None:
    from browser import sign_in

    browser = BinderBrowser(server)
    try:
        started = browser.post("dbx-auth/api/connections/emulator/login", {})
        assert started.status_code == 200, started.text
        reply = started.json()
        assert reply["finish"] == "paste", reply  # the browser is not on this machine
        authorize = reply["authorize_url"]
        # The emulator's sign-in page through the proxy path on the Binder origin.
        assert authorize.startswith(f"{BINDER_ORIGIN}{PREFIX}dbx-emulator/oidc/v1/authorize?")
        assert "client_id=databricks-cli" in authorize, authorize
        location = sign_in(authorize, ALICE, password, client=browser.http)
        # Where the browser stops (not followed): the public app's redirect with the code.
        assert location.split("?")[0] in ("http://localhost:8020", "http://localhost:8020/")
        assert "code=" in location, location
        pasted = browser.post("dbx-auth/api/connections/emulator/callback", {"url": location})
        assert pasted.status_code == 200, pasted.text
        assert (pasted.json()["status"], pasted.json()["identity"]) == ("ok", ALICE)
    finally:
        browser.http.close()


def test_binder_postbuild_and_start(binder_env: dict[str, str], tmp_path: Path) -> None:
    from browser import sign_in

    server = Server(binder_env, tmp_path)
    try:
        server.wait_ready()
        # The landing page is JupyterLab with our prebuilt labextension, opening the notebook.
        lab = server.http.get(server.base + "lab")
        assert lab.status_code == 200 and "jupyter-dbx-auth" in lab.text
        landing = server.http.get(server.base, follow_redirects=False)
        assert "docs/notebooks/00-start-here.ipynb" in landing.headers.get("Location", "")
        assert (Path(binder_env["REPO"]) / "docs/notebooks/00-start-here.ipynb").is_file()

        # The emulator through jupyter-server-proxy: its API, and its sign-in page, whose form
        # posts back through the proxy (a cookie-jar client that carries the Jupyter token).
        emulator = server.base + "dbx-emulator/"
        metadata = server.http.get(emulator + ".well-known/databricks-config")
        assert metadata.status_code == 200, metadata.text
        assert metadata.json()["workspace_id"] == "1234567890123456"
        authorize = (
            emulator
            + "oidc/v1/authorize?"
            + urlencode(
                {
                    "response_type": "code",
                    "client_id": "databricks-cli",
                    "redirect_uri": "http://localhost:8020",
                    "scope": "all-apis offline_access",
                    "state": "binder-test",
                    "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                    "code_challenge_method": "S256",
                }
            )
        )
        location = sign_in(
            authorize, "alice@example.com", "alice-demo-password", client=server.http
        )
        assert location.startswith("http://localhost:8020") and "code=" in location, location

        # The demo profiles, as the server lists them.
        listed = server.http.get(server.base + "dbx-auth/api/connections").json()
        assert {"emulator", "emulator-sp"} <= {c["name"] for c in listed["connections"]}

        # A kernel of that server: the service principal's SQL connection, over loopback.
        kernel = server.http.post(server.base + "api/kernels", json={"name": "python3"}).json()
        out, status = server.run_in_kernel(kernel["id"], "%load_ext jupyter_dbx_auth")
        assert status == "ok", out
        out, status = server.run_in_kernel(kernel["id"], "%dbx_connect emulator-sp --sql")
        assert status == "ok", out
        assert 'conn = SQL warehouse "Starter Warehouse"' in out, out
        assert "pyarrow is not installed" not in out  # the sql extra brings it
        out, status = server.run_in_kernel(
            kernel["id"], "print(conn.cursor().execute('SELECT current_user()').fetchone()[0])"
        )
        assert status == "ok" and out.strip() == ADMIN_SP_CLIENT_ID, out

        # Signing in as yourself, as on Binder: the paste path with the public app.
        from jupyter_dbx_auth.emulator.seed import load_seed, public_config

        users = public_config(load_seed(None))["users"]
        password = next(u["password"] for u in users if u["username"] == ALICE)
        sign_in_as_alice_by_paste(server, password)
        out, status = server.run_in_kernel(kernel["id"], "%dbx_connect emulator")
        assert status == "ok", out
        assert f"as {ALICE}, u2m via server" in out, out
        out, status = server.run_in_kernel(kernel["id"], "print(w.current_user.me().user_name)")
        assert status == "ok" and out.strip() == ALICE, out
    finally:
        server.stop()
