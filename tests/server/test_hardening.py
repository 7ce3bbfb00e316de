"""Finding 1 of issue 9: the server process is non-dumpable, and secrets can come from files.

Why a subprocess test: `/proc/<pid>/environ` shows the environment a process *started* with, so a
secret handed to the server in the environment stays there however the server edits os.environ.
The test starts a real Jupyter server with a canary in its environment and reads that file from
another process of the same user, as a kernel would. Tests run as root here, and root passes the
check through CAP_SYS_PTRACE, so both the server and the reader drop every capability (`setpriv`):
an ordinary same-user process, which is what a notebook's code is.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from jupyter_dbx_auth.core.errors import ConfigError
from jupyter_dbx_auth.server import hardening

CANARY = "canary-app-secret-4b1d-DO-NOT-LEAK"
KEY = "0" * 63 + "2"  # a valid 32-byte hex store key; test value
REPO = Path(__file__).resolve().parents[2]

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")


@pytest.fixture(autouse=True)
def _dumpable_before_the_server_starts():
    """pytest-jupyter runs each server in this pytest process, and an earlier server test already
    made it non-dumpable: undo that first (autouse fixtures run before the server fixtures), so
    that only this test's server start can make it non-dumpable again."""
    if sys.platform.startswith("linux"):
        hardening._prctl(hardening.PR_SET_DUMPABLE, 1)
        assert hardening.is_dumpable() is True


def _no_capabilities() -> list[str]:
    """Run as an ordinary process of this user: as root, without any capability."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root without setpriv: cannot run an unprivileged same-user process")
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all"]


def _can_read_environ(pid: int) -> bool:
    reader = subprocess.run(
        [*_no_capabilities(), sys.executable, "-c", f"open('/proc/{pid}/environ','rb').read()"],
        capture_output=True,
        timeout=60,
    )
    if reader.returncode == 0:
        return True
    assert b"PermissionError" in reader.stderr, reader.stderr
    return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@linux_only
@pytest.mark.slow
def test_same_user_processes_cannot_read_the_servers_environment(tmp_path):
    config = tmp_path / "jupyter_server_config.py"
    config.write_text(
        "c = get_config()  # noqa: F821\n"
        "c.ServerApp.jpserver_extensions = {'jupyter_dbx_auth': True}\n"
        "c.ServerApp.allow_root = True\n"
        "c.ServerApp.open_browser = False\n"
        "c.DatabricksAuth.store_backend = 'memory'\n"
        "c.DatabricksAuth.audit_log_path = ''\n"
        "c.DatabricksAuth.include_profiles = False\n"
        "c.DatabricksAuth.token_socket = False\n"
    )
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "HOME": str(tmp_path),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_TOKEN": "test-token",
        "JUPYTER_DBX_AUTH_OAUTH_CLIENT_SECRET": CANARY,
    }
    # The control: a same-user process started the same way, with the same environment, is
    # readable, so a refusal below comes from the server's own setting and nothing else.
    control = subprocess.Popen(
        [*_no_capabilities(), sys.executable, "-c", "import time; time.sleep(60)"], env=env
    )
    cmd = [
        *_no_capabilities(),
        sys.executable,
        "-m",
        "jupyter_server",
        f"--config={config}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={tmp_path}",
    ]
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert _can_read_environ(control.pid), "the control process should be readable"
        deadline = time.monotonic() + 90
        while True:  # the extension loads before the HTTP server listens
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            try:
                r = httpx.get(
                    f"http://127.0.0.1:{port}/dbx-auth/api/version",
                    headers={"Authorization": "token test-token"},
                    timeout=5,
                    trust_env=False,
                )
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.3)
        assert not _can_read_environ(server.pid)
        assert CANARY.encode() in Path(f"/proc/{control.pid}/environ").read_bytes()
    finally:
        for proc in (server, control):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


@linux_only
async def test_the_extension_makes_the_server_process_non_dumpable(dbx_app):
    # pytest-jupyter runs the server in this process: the extension has just loaded in it.
    assert hardening.is_dumpable() is False


@pytest.fixture
def secret_files(tmp_path):
    key_file = tmp_path / "store.key"
    key_file.write_text(KEY + "\n")
    key_file.chmod(0o600)
    secret_file = tmp_path / "app.secret"
    secret_file.write_text(f"  {CANARY}\n")
    secret_file.chmod(0o600)
    return key_file, secret_file


@pytest.fixture
def dbx_extra_config(request, secret_files, monkeypatch):
    if not request.node.name.startswith("test_secret_file_settings"):
        return {}
    # The environment holds other values: the file settings must win over them.
    monkeypatch.setenv("JUPYTER_DBX_AUTH_OAUTH_CLIENT_SECRET", "env-app-secret")
    monkeypatch.setenv("JUPYTER_DBX_AUTH_CRYPT_KEY", "0" * 63 + "3")
    key_file, secret_file = secret_files
    return {
        "oauth_client_id": "custom-app",
        "store_key_file": str(key_file),
        "oauth_client_secret_file": str(secret_file),
    }


async def test_secret_file_settings_are_used_before_the_environment(dbx_app, tmp_path):
    from jupyter_dbx_auth.core.store.encrypted_file import EncryptedFileStore

    service = dbx_app.service
    assert service.app.client_secret is not None
    assert service.app.client_secret.reveal() == CANARY
    service.store.put("u2m", "probe", {"refresh_token": "r"})
    # The store is encrypted with the file's key (and so readable with it alone).
    assert EncryptedFileStore(tmp_path / "store", KEY).get("u2m", "probe") == {"refresh_token": "r"}


def test_read_secret_file_checks_and_warns(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="jupyter_dbx_auth.server.hardening")
    good = tmp_path / "good"
    good.write_text("s3cr3t-value\n")
    good.chmod(0o600)
    assert hardening.read_secret_file(str(good), "store_key_file") == "s3cr3t-value"
    assert not caplog.records
    good.chmod(0o644)
    assert hardening.read_secret_file(str(good), "store_key_file") == "s3cr3t-value"
    assert "chmod 600" in caplog.text and "s3cr3t" not in caplog.text
    empty = tmp_path / "empty"
    empty.write_text("\n")
    for path, words in ((empty, "empty"), (tmp_path / "missing", "Cannot read")):
        with pytest.raises(ConfigError, match=words) as err:
            hardening.read_secret_file(str(path), "oauth_client_secret_file")
        assert "oauth_client_secret_file" in err.value.message
    assert stat.S_IMODE(good.stat().st_mode) == 0o644  # only read, never changed
