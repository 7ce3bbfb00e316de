"""`jupyter-dbx-hub`: its configuration file, validation, and --check against a real store."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from hub_keys import STORE_KEY
from traitlets.config import Config

from jupyter_dbx_auth.hub.app import DatabricksAuthHub

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "jupyter_dbx_auth.hub.app", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def app_with(**values: object) -> DatabricksAuthHub:
    config = Config()
    for name, value in values.items():
        setattr(config.DatabricksAuthHub, name, value)
    DatabricksAuthHub.clear_instance()
    return DatabricksAuthHub(config=config)


def test_generate_config_documents_every_option(tmp_path: Path) -> None:
    result = run("--generate-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "jupyter_dbx_hub_config.py").read_text()
    options = DatabricksAuthHub.class_own_traits(config=True)
    for name, trait in options.items():
        assert f"# c.DatabricksAuthHub.{name} =" in text, name
        assert trait.help, f"{name} has no help"
    assert "services/{service_name}/callback" in text
    # Written once; a second run refuses to overwrite the admin's edits.
    again = run("--generate-config", cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_public_url_comes_from_the_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_PUBLIC_HUB_URL", "https://hub.example.com/jh/hub/")
    monkeypatch.setenv("JUPYTERHUB_SERVICE_NAME", "dbx")
    app = app_with()
    assert app.callback_url == "https://hub.example.com/jh/services/dbx/callback"
    monkeypatch.delenv("JUPYTERHUB_PUBLIC_HUB_URL")
    assert any("public URL is unknown" in p for p in app_with().problems())


def test_secrets_inline_or_missing_are_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAM_SP_SECRET", "from-the-env")
    app = app_with(
        public_url="https://hub.example.com/",
        oauth_client_id="app-id",
        connections={"emu": {"host": "https://w.example.com", "client_secret": "INLINE-1"}},
        group_service_principals={
            "data-science": [
                {"connection": "emu", "client_id": "sp1", "client_secret_env": "TEAM_SP_SECRET"},
                {"connection": "emu", "client_id": "sp2", "client_secret": "INLINE-2"},
                {"connection": "nope", "client_id": "sp3", "client_secret_env": "UNSET_VAR"},
                {"connection": "emu", "client_id": "sp4", "client_secret_file": "/nonexistent"},
            ]
        },
    )
    problems = app.problems()
    text = "\n".join(problems)
    assert "INLINE-1" not in text and "INLINE-2" not in text and "from-the-env" not in text
    assert "Connection 'emu' has an inline 'client_secret'" in text
    assert "[1] has an inline client_secret" in text
    assert "names connection 'nope'" in text and "UNSET_VAR is not set" in text
    assert "/nonexistent is not readable" in text
    assert not any("[0]" in p for p in problems)  # the good entry is fine


def test_check_opens_the_store_and_prints_the_callback(tmp_path: Path) -> None:
    (tmp_path / "jupyter_dbx_hub_config.py").write_text(
        "c.DatabricksAuthHub.public_url = 'https://hub.example.com/'\n"
        f"c.DatabricksAuthHub.db_url = 'sqlite:///{tmp_path}/db/store.sqlite'\n"
    )
    missing_key = run("--check", cwd=tmp_path)
    assert missing_key.returncode == 1
    assert "JUPYTER_DBX_AUTH_CRYPT_KEY is not set" in missing_key.stderr
    ok = run("--check", cwd=tmp_path, env={"JUPYTER_DBX_AUTH_CRYPT_KEY": STORE_KEY})
    assert ok.returncode == 0, ok.stderr
    assert "https://hub.example.com/services/dbx-auth/callback" in ok.stdout
    assert (tmp_path / "db" / "store.sqlite").stat().st_mode & 0o777 == 0o600
    assert STORE_KEY not in ok.stdout + ok.stderr


def test_it_serves_until_sigterm(tmp_path: Path) -> None:
    """Without --check it serves the API (the real-hub tests use it through a hub) and stops
    cleanly on SIGTERM, as the hub stops its services."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (tmp_path / "jupyter_dbx_hub_config.py").write_text(
        "c.DatabricksAuthHub.public_url = 'https://hub.example.com/'\n"
        f"c.DatabricksAuthHub.db_url = 'sqlite:///{tmp_path}/db/store.sqlite'\n"
        f"c.DatabricksAuthHub.bind_url = 'http://127.0.0.1:{port}'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JUPYTER_DBX_AUTH_CRYPT_KEY": STORE_KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_dbx_auth.hub.app"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/services/dbx-auth/api/status"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1].decode()
            try:
                answer = httpx.get(url, trust_env=False)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the service did not come up"
                time.sleep(0.2)
        assert answer.status_code == 403 and "hub user" in answer.json()["message"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = proc.stderr.read().decode() if proc.stderr else ""
    assert "services/dbx-auth/callback" in log and STORE_KEY not in log


def test_group_principal_names_are_unambiguous() -> None:
    app = app_with(
        public_url="https://hub.example.com/",
        oauth_client_id="app-id",
        connections={"emu": {"host": "https://w.example.com"}, "a@b": {"host": "https://x.com"}},
        group_service_principals={
            "g": [
                {"connection": "emu", "client_id": "sp1", "client_secret_file": __file__},
                {"connection": "emu", "client_id": "sp2", "client_secret_file": __file__},
            ]
        },
    )
    text = "\n".join(app.problems())
    assert "Connection name 'a@b' contains '@'" in text
    assert "several principals for connection 'emu'" in text


def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    result = run("-f", str(tmp_path / "missing.py"), "--check", cwd=tmp_path)
    assert result.returncode == 1 and "not found" in result.stderr
