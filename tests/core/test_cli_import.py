"""Importing Databricks CLI logins: token-cache.json v1 and the `databricks-cli` keyring service."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring_doubles import MemoryKeyring

from jupyter_dbx_auth.core.audit import AuditLog
from jupyter_dbx_auth.core.cli_import import (
    CliImportError,
    cache_keys,
    find_cli_login,
    import_cli_login,
    read_token_cache,
)
from jupyter_dbx_auth.core.store import MemoryStore

HOST = "https://emu.cloud.databricks.com"


class RecordingKeyring(MemoryKeyring):
    """A working keyring that remembers every write, to prove we never write the CLI's entries."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, str, str]] = []

    def set_password(self, service: str, username: str, password: str) -> None:
        self.writes.append(("set", service, username))
        super().set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self.writes.append(("delete", service, username))
        self.data.pop((service, username), None)


@pytest.fixture
def ring() -> Iterator[RecordingKeyring]:
    previous = keyring.get_keyring()
    backend = RecordingKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def token(refresh: str | None, expiry: str = "2026-11-02T10:00:00.123456789+01:00") -> dict:
    entry = {"access_token": "at-" + (refresh or "none"), "token_type": "Bearer", "expiry": expiry}
    if refresh is not None:
        entry["refresh_token"] = refresh
    return entry


def write_cache(home: Path, tokens: dict, version: object = 1) -> Path:
    path = home / ".databricks" / "token-cache.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"version": version, "tokens": tokens}))
    return path


def test_cache_keys() -> None:
    assert cache_keys("emu", HOST + "/", None) == ["emu", HOST]
    assert cache_keys(None, "emu.cloud.databricks.com", None) == [HOST]
    assert cache_keys(None, "https://accounts.cloud.databricks.com", "abc") == [
        "https://accounts.cloud.databricks.com/oidc/accounts/abc"
    ]


def test_import_from_token_cache_by_profile(_isolated_environment: Path) -> None:
    path = write_cache(_isolated_environment, {"emu": token("rt-profile"), HOST: token("rt-h")})
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    store = MemoryStore()
    result = import_cli_login(store, "emu", host=HOST, profile="emu", use_keyring=False)
    assert result.imported and result.source == "token-cache.json"
    record = store.get("u2m", "emu")
    assert record is not None
    assert record["refresh_token"] in ("rt-profile", "rt-h")  # same expiry: either is current
    assert record["host"] == HOST
    assert record["client_id"] == "databricks-cli"
    assert record["imported_from"].startswith("databricks-cli token-cache.json")
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before  # theirs is untouched


def test_freshest_login_wins(_isolated_environment: Path) -> None:
    write_cache(
        _isolated_environment,
        {
            "emu": token("rt-old", "2026-01-01T00:00:00Z"),
            HOST: token("rt-new", "2026-06-01T00:00:00Z"),
        },
    )
    login = find_cli_login(profile="emu", host=HOST, use_keyring=False)
    assert login is not None
    assert login.refresh_token.reveal() == "rt-new"
    assert "rt-new" not in repr(login)


def test_import_from_keyring(_isolated_environment: Path, ring: RecordingKeyring) -> None:
    ring.data[("databricks-cli", "emu")] = json.dumps({"token": token("rt-ring")})
    write_cache(_isolated_environment, {"emu": token("rt-file", "2020-01-01T00:00:00Z")})
    store = MemoryStore()
    result = import_cli_login(store, "emu", host=HOST, profile="emu")
    assert result.imported and result.source == "keyring"
    assert store.get("u2m", "emu")["refresh_token"] == "rt-ring"  # type: ignore[index]
    assert ring.writes == []  # never writes the CLI's entries


def test_existing_login_is_kept_unless_overwrite(_isolated_environment: Path) -> None:
    write_cache(_isolated_environment, {"emu": token("rt-cli")})
    store = MemoryStore()
    store.put("u2m", "emu", {"refresh_token": "ours"})
    result = import_cli_login(store, "emu", host=HOST, profile="emu", use_keyring=False)
    assert not result.imported and "already signed in" in result.reason
    assert store.get("u2m", "emu") == {"refresh_token": "ours"}
    assert import_cli_login(
        store, "emu", host=HOST, profile="emu", use_keyring=False, overwrite=True
    ).imported
    assert store.get("u2m", "emu")["refresh_token"] == "rt-cli"  # type: ignore[index]


def test_nothing_to_import(_isolated_environment: Path) -> None:
    store = MemoryStore()
    result = import_cli_login(store, "emu", host=HOST, profile="emu", use_keyring=False)
    assert not result.imported and "'emu'" in result.reason and HOST in result.reason
    write_cache(_isolated_environment, {"emu": token(None)})  # access token only
    assert not import_cli_login(store, "emu", host=HOST, profile="emu", use_keyring=False).imported
    assert store.keys("u2m") == []


@pytest.mark.parametrize(
    "content,message",
    [
        ('{"version": 2, "tokens": {}}', "has version 2"),
        ('{"tokens": {}}', "no version"),
        ("{not json", "not valid JSON"),
        ('{"version": 1, "tokens": []}', "malformed"),
        ('{"version": 1, "tokens": {"emu": "rt-string"}}', "malformed"),
    ],
)
def test_bad_token_cache(_isolated_environment: Path, content: str, message: str) -> None:
    path = _isolated_environment / ".databricks" / "token-cache.json"
    path.parent.mkdir()
    path.write_text(content)
    with pytest.raises(CliImportError, match=message) as info:
        import_cli_login(MemoryStore(), "emu", host=HOST, profile="emu", use_keyring=False)
    assert info.value.hint
    assert "rt-string" not in str(info.value)
    assert path.read_text() == content


def test_malformed_keyring_entry(ring: RecordingKeyring) -> None:
    ring.data[("databricks-cli", "emu")] = "rt-plain-not-json"
    with pytest.raises(CliImportError, match="keyring") as info:
        find_cli_login(profile="emu", host=HOST)
    assert "rt-plain" not in str(info.value)


def test_keyring_failure_falls_back_to_file(
    _isolated_environment: Path, ring: RecordingKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(service: str, username: str) -> str | None:
        raise RuntimeError("no D-Bus")

    monkeypatch.setattr(ring, "get_password", broken)
    write_cache(_isolated_environment, {"emu": token("rt-file")})
    login = find_cli_login(profile="emu", host=HOST)
    assert login is not None and login.source == "token-cache.json"


def test_canary_and_audit(
    _isolated_environment: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = "CANARYrefresh0123456789abcdef0123456789"
    write_cache(_isolated_environment, {"emu": token(canary)})
    audit = AuditLog(tmp_path / "audit.log")
    store = MemoryStore()
    result = import_cli_login(
        store, "emu", host=HOST, profile="emu", use_keyring=False, audit=audit
    )
    assert store.get("u2m", "emu")["refresh_token"] == canary  # type: ignore[index]
    (entry,) = [json.loads(x) for x in (tmp_path / "audit.log").read_text().splitlines()]
    assert entry["event"] == "secret_added" and entry["connection"] == "emu"
    assert canary not in (tmp_path / "audit.log").read_text()
    assert canary not in caplog.text
    assert canary not in repr(result)
    assert read_token_cache()["emu"]["refresh_token"] == canary  # still theirs, unchanged
