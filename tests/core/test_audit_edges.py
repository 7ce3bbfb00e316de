"""Audit log edges that mutation testing found untested: the guess's exact rule, counts, fields
that carry through lists and keys, the warning's words, modes of what is created, rotation bounds.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from jupyter_dbx_auth.core import audit as audit_module
from jupyter_dbx_auth.core.audit import REDACTED, AuditLog, _scrub_text, default_audit_path, scrub

OPAQUE = "a1" * 20  # 40 characters, letters and digits: looks like an opaque refresh token
UPPER_OPAQUE = "A1" * 20


def test_the_guess_is_on_by_default() -> None:
    assert _scrub_text(f"x {OPAQUE} y") == (f"x {REDACTED} y", 1)
    assert _scrub_text(f"x {OPAQUE} y", False) == (f"x {OPAQUE} y", 0)


def test_the_guess_needs_letters_and_digits() -> None:
    letters, digits = "abcdefgh" * 5, "12345678" * 5
    assert scrub(f"{letters} {digits}") == (f"{letters} {digits}", 0)
    # Upper-case letters count as letters.
    assert scrub(UPPER_OPAQUE) == (REDACTED, 1)


def test_every_guessed_run_is_counted() -> None:
    assert scrub(f"{OPAQUE} and {UPPER_OPAQUE}") == (f"{REDACTED} and {REDACTED}", 2)


def test_keys_are_scrubbed_with_the_guess_and_counted() -> None:
    out, count = scrub({OPAQUE: 1})
    assert (out, count) == ({REDACTED: 1}, 1)
    assert scrub({OPAQUE: 1}, guess=False) == ({OPAQUE: 1}, 0)


def test_list_items_keep_the_field_and_the_guess() -> None:
    user = "0123456789abcdef" * 2  # Jupyter's anonymous user id: kept in an identifier field
    assert scrub({"user": [user, user]}) == ({"user": [user, user]}, 0)
    assert scrub([OPAQUE, "ok"]) == ([REDACTED, "ok"], 1)
    assert scrub([OPAQUE], guess=False) == ([OPAQUE], 0)
    assert scrub({"refresh_token": ["x"]}) == ({"refresh_token": REDACTED}, 1)


def test_unknown_objects_are_written_as_their_type_name() -> None:
    class Handle:
        def __repr__(self) -> str:
            return f"Handle(secret={OPAQUE})"

    assert scrub(Handle()) == ("<Handle>", 0)
    assert scrub({"h": object()}) == ({"h": "<object>"}, 0)


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    expected = tmp_path / "jupyter-dbx-auth" / "log" / "audit.log"
    assert default_audit_path() == expected
    log = AuditLog()  # no path: the default one, created with its directories
    assert log.path == expected
    log.record("login", "emu")
    assert expected.exists()


def test_created_files_and_directories_are_private_from_the_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    path = tmp_path / "a" / "b" / "audit.log"
    log = AuditLog(path, max_bytes=300, backups=2)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for i in range(10):  # several rotations: each new file is created 0600 too
        log.record("refresh", f"conn-{i}")
    assert (path.parent / "audit.log.1").exists()
    lock = path.with_name("audit.log.lock")
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    # Had any file been created open and tightened afterwards, check_private would have warned.
    assert not [r for r in caplog.records if "accessible to other users" in r.getMessage()]


def test_time_is_utc_with_milliseconds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TZ", "Asia/Kathmandu")  # +05:45: a local clock would show
    time.tzset()
    try:
        entry = AuditLog(tmp_path / "a.log").record("login", "emu")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])
    written = datetime.fromisoformat(entry["time"][:-1]).replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - written).total_seconds()) < 60


def test_the_warning_names_the_event_and_the_connection(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="jupyter_dbx_auth.core.audit")
    log = AuditLog(tmp_path / "a.log")
    log.record("refresh", "emu", detail={"refresh_token": "x"})
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        "Audit: stripped 1 secret-looking value(s) from a 'refresh' entry for 'emu'."
    )


def test_a_sure_secret_then_a_guess_still_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="jupyter_dbx_auth.core.audit")
    AuditLog(tmp_path / "a.log").record(
        "failure", "emu", identity="Bearer abc.def", detail={"error": OPAQUE}
    )
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_text_is_written_as_utf8_not_escaped(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    AuditLog(path).record("login", "émulateur", identity="zoë@example.com")
    raw = path.read_bytes()
    assert "zoë@example.com".encode() in raw and b"\\u00eb" not in raw
    assert json.loads(raw)["connection"] == "émulateur"


def test_rotation_happens_only_past_max_bytes(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    probe = AuditLog(tmp_path / "probe.log")
    probe.record("login", "emu")
    size = (tmp_path / "probe.log").stat().st_size
    log = AuditLog(path, max_bytes=2 * size)
    log.record("login", "emu")
    log.record("login", "emu")  # exactly max_bytes: still one file
    assert not path.with_name("a.log.1").exists()
    assert path.stat().st_size == 2 * size
    log.record("login", "emu")  # past it: rotated
    assert path.with_name("a.log.1").stat().st_size == 2 * size
    assert path.stat().st_size == size


def test_default_keeps_five_backups(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    log = AuditLog(path, max_bytes=200)
    for i in range(40):
        log.record("refresh", f"c{i}")
    assert path.with_name("a.log.5").exists()
    assert not path.with_name("a.log.6").exists()


def test_one_backup_and_no_backup(tmp_path: Path) -> None:
    one = AuditLog(tmp_path / "one.log", max_bytes=200, backups=1)
    none = AuditLog(tmp_path / "none.log", max_bytes=200, backups=0)
    for i in range(10):
        one.record("refresh", f"c{i}")
        none.record("refresh", f"c{i}")
    assert (tmp_path / "one.log.1").exists() and not (tmp_path / "one.log.2").exists()
    assert not (tmp_path / "none.log.1").exists()
    assert (tmp_path / "none.log").stat().st_size <= 200


def test_a_failed_reopen_after_rotation_closes_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The descriptor variable is cleared before the reopen: a failure there must surface as
    itself and must not close some other descriptor (1 is stdout)."""
    path = tmp_path / "a.log"
    log = AuditLog(path, max_bytes=100)
    log.record("login", "emu")
    real_open = os.open
    calls = []

    def failing_second_open(p, flags, mode=0o777):  # type: ignore[no-untyped-def]
        if Path(p) == path:  # not the lock file's
            calls.append(p)
        if len(calls) == 2:
            raise PermissionError(13, "Permission denied", str(p))
        return real_open(p, flags, mode)

    read_end, write_end = os.pipe()
    saved_stdout = os.dup(1)
    os.dup2(write_end, 1)
    try:
        monkeypatch.setattr(audit_module.os, "open", failing_second_open)
        with pytest.raises(PermissionError):
            log.record("login", "emu-" + "x" * 50)
        monkeypatch.undo()
        os.fstat(1)  # still open
    finally:
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
        os.close(read_end)
        os.close(write_end)


def test_an_existing_open_file_is_tightened_and_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    path = tmp_path / "a.log"
    path.write_bytes(b"")
    path.chmod(0o644)
    AuditLog(path).record("login", "emu")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert any(r.getMessage().startswith(f"{path} was accessible") for r in caplog.records)


def test_repr_names_the_path_only(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.log")
    assert repr(log) == f"<AuditLog path={str(tmp_path / 'a.log')!r}>"
