"""`jupyter-dbx-hub`: its configuration file, validation, and --check against a real store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    # Not built yet, and it says so instead of pretending to serve.
    serve = run(cwd=tmp_path, env={"JUPYTER_DBX_AUTH_CRYPT_KEY": STORE_KEY})
    assert serve.returncode == 2 and "not built yet" in serve.stderr


def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    result = run("-f", str(tmp_path / "missing.py"), "--check", cwd=tmp_path)
    assert result.returncode == 1 and "not found" in result.stderr
