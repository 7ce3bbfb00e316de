"""Audit log: format, the secret guard, rotation, permissions."""

from __future__ import annotations

import json
import logging
import secrets
import stat
from datetime import datetime
from pathlib import Path

import pytest

from jupyter_dbx_auth.core.audit import REDACTED, AuditLog, default_audit_path, scrub
from jupyter_dbx_auth.core.secret import Secret

JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJhbGljZSIsImF1ZCI6ImRhdGFicmlja3MifQ."
    "c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_entry_format_and_permissions(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "audit.log"
    audit = AuditLog(path)
    written = audit.record("login", "emu", identity="alice@example.com", detail={"method": "u2m"})
    audit.record("failure", "emu", outcome="error", detail={"error": "invalid_grant"})
    first, second = lines(path)
    assert first == written
    assert set(first) == {"time", "event", "connection", "identity", "outcome", "detail"}
    assert first["time"].endswith("Z")
    assert datetime.fromisoformat(first["time"].replace("Z", "+00:00")).utcoffset().seconds == 0
    assert (first["event"], first["outcome"], second["outcome"]) == ("login", "ok", "error")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "identity" not in second


def test_events_are_checked(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "a.log")
    for event in ("login", "refresh", "failure", "logout", "secret_added", "secret_removed"):
        audit.record(event, "emu")
    with pytest.raises(ValueError, match="invalid audit event"):
        audit.record("Token Dump!", "emu")


def test_extra_fields_join_detail(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "a.log")
    entry = audit.record(
        "login_completed", connection="emu", user="alice", identity="a@x", client_id="abc"
    )
    assert entry["detail"] == {"user": "alice", "client_id": "abc"}
    assert entry["identity"] == "a@x"


@pytest.mark.parametrize(
    "value",
    [
        {"refresh_token": "opaque"},
        {"client_secret": "x"},
        {"Password": "hunter2"},
        {"headers": {"Authorization": "Bearer abc"}},
        {"note": Secret("wrapped")},
        {"note": f"server said {JWT} was bad"},
        {"note": "Authorization: Bearer short"},
        {"note": "pat dapi0123456789abcdef0123456789abcdef"},
        {"note": "opaque a9Zk2mQ8xP4vL7nR3tY6wB1cD5eF0gH2jK4"},
        {"items": ["ok", JWT]},
        {JWT: "as a key"},
    ],
)
def test_guard_strips_secret_looking_values(value: dict) -> None:
    cleaned, count = scrub(value)
    assert count >= 1
    text = json.dumps(cleaned)
    assert REDACTED in text
    for needle in ('opaque"', "hunter2", "abc", "wrapped", JWT, "dapi0123", "a9Zk2mQ8"):
        assert needle not in text


@pytest.mark.parametrize(
    "value",
    [
        {"host": "https://adb-1234567890123456.7.azuredatabricks.net"},
        {
            "account": "https://accounts.cloud.databricks.com/oidc/accounts/"
            "0d26daa6-5e44-4c97-a497-ef015f91254a"
        },
        {"client_id": "0d26daa6-5e44-4c97-a497-ef015f91254a"},
        {"error": "invalid_grant", "status": 400},
        {"token_expires_in": 3600, "tokens_refreshed": 2},
        {"identity": "alice@example.com", "method": "u2m"},
    ],
)
def test_guard_keeps_ordinary_values(value: dict) -> None:
    assert scrub(value) == (value, 0)


def test_canary_never_reaches_the_file_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = "CANARY" + secrets.token_hex(16)
    path = tmp_path / "audit.log"
    audit = AuditLog(path)
    entry = audit.record(
        "refresh",
        "emu",
        identity=Secret(canary),  # type: ignore[arg-type]
        outcome=f"failed with {canary}",
        detail={"refresh_token": canary, "nested": [{"x": Secret(canary)}], "o": object()},
    )
    assert entry["redacted"] == 4
    assert canary not in path.read_text()
    assert canary not in caplog.text
    assert "stripped 4" in caplog.text
    assert canary not in repr(audit)


def test_a_guessed_secret_is_scrubbed_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Jupyter's anonymous user names are 32 hex digits: kept in the `user` field (who did it is
    the point of an audit log), and a guess elsewhere is scrubbed with a debug line only."""
    caplog.set_level(logging.DEBUG, logger="jupyter_dbx_auth.core.audit")
    audit = AuditLog(tmp_path / "audit.log")
    user = secrets.token_hex(16)
    entry = audit.record("login", "emu", user=user)
    assert entry["detail"]["user"] == user and "redacted" not in entry
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    caplog.clear()
    entry = audit.record("login", "emu", detail={"note": "a" + secrets.token_hex(16)})
    assert entry["redacted"] == 1
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    caplog.clear()
    audit.record("login", "emu", user=user, detail={"token": "x"})
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_rotation_keeps_n_files(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    audit = AuditLog(path, max_bytes=1000, backups=3)
    for i in range(100):
        audit.record("refresh", f"conn-{i:03d}")
    files = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock"))
    assert files == ["audit.log", "audit.log.1", "audit.log.2", "audit.log.3"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 1000
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    # The newest entries survive, in order, across the files.
    kept = [e["connection"] for name in reversed(files) for e in lines(tmp_path / name)]
    assert kept == sorted(kept)
    assert kept[-1] == "conn-099"


def test_default_path_under_user_log_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_audit_path().name == "audit.log"
    assert "jupyter-dbx-auth" in str(default_audit_path())


def test_anonymous_jupyter_user_ids_are_kept_and_cause_no_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Jupyter names a user without a login `uuid4().hex` (32 hex digits): an id, not a secret.
    The entry keeps it (who did this?) and no warning is logged for it."""
    caplog.set_level(logging.WARNING, logger="jupyter_dbx_auth.core.audit")
    audit = AuditLog(tmp_path / "a.log")
    user = secrets.token_hex(16)
    entry = audit.record("login", "emu", user=user, identity=f"{user}@example.com")
    assert entry["detail"] == {"user": user}
    assert entry["identity"] == f"{user}@example.com"
    assert "redacted" not in entry
    assert lines(tmp_path / "a.log")[0]["detail"]["user"] == user
    assert not caplog.records
    # A credential in an identifier field is still stripped, and then the warning is due.
    entry = audit.record("login", "emu", user=f"Bearer {JWT}")
    assert JWT not in json.dumps(entry) and entry["redacted"] >= 1
    assert any("stripped" in r.getMessage() for r in caplog.records)
    # Elsewhere, a long opaque run is still taken for a token.
    entry = audit.record("failure", "emu", error=f"refresh failed for {user}")
    assert user not in json.dumps(entry)
