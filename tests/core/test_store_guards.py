"""The encrypted store's guards that mutation testing found loosely pinned: whose temporary files
a write tidies away, the store directory's creation (mode, message, checked once), the source a
bad key is blamed on, and the exact words for a file owned by someone else."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_dbx_auth.core.errors import StoreError
from jupyter_dbx_auth.core.store import EncryptedFileStore, _keys
from jupyter_dbx_auth.core.store import encrypted_file as ef
from jupyter_dbx_auth.core.store._keys import KEY_HINT, check_private

K1 = "11" * 32
K2 = "22" * 32
NOT_A_KEY = "XXXX" * 4  # neither 64 hex digits nor 32 bytes of base64


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Umask 0: every mode the store asks for arrives as asked, so a wrong one shows."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


# -- temporary files -------------------------------------------------------------------------


def test_a_write_tidies_only_its_own_records_temporary_files(tmp_path: Path) -> None:
    # Another record's writer holds its own lock, not ours: its temporary file may be the one it
    # is about to rename into place. Ours, seen under our lock, was left by a writer that died.
    store = EncryptedFileStore(tmp_path, key=K1)
    store.put("u2m", "emu", {"n": 1})
    store.put("u2m", "bob", {"n": 1})
    folder = tmp_path / "u2m"
    ours = folder / ".emu.fernet.0123456789ab.tmp"
    theirs = folder / ".bob.fernet.0123456789ab.tmp"
    not_a_temp = folder / ".emu.fernet.notes"
    for path in (ours, theirs, not_a_temp):
        path.write_bytes(b"half a record")

    store.put("u2m", "emu", {"n": 2})

    assert not ours.exists()
    assert theirs.read_bytes() == b"half a record"
    assert not_a_temp.read_bytes() == b"half a record"
    assert store.get("u2m", "bob") == {"n": 1}


def test_a_file_planted_at_the_temporary_name_is_never_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The temporary name is random and stale ones are tidied first; O_EXCL | O_NOFOLLOW is the
    # guard beneath both. Take the other two away and plant a link where the write will go.
    store = EncryptedFileStore(tmp_path, key=K1)
    store.put("u2m", "emu", {"n": 1})
    target = tmp_path / "elsewhere"
    target.write_bytes(b"not yours")
    monkeypatch.setattr(ef.secrets, "token_hex", lambda n: "0" * (2 * n))
    monkeypatch.setattr(ef.EncryptedFileStore, "_remove_stale_temps", staticmethod(lambda p: None))
    (tmp_path / "u2m" / ".emu.fernet.000000000000.tmp").symlink_to(target)

    with pytest.raises(StoreError, match=r"^Cannot write the secret store file .* \(File exists\)"):
        store.put("u2m", "emu", {"n": 2})

    assert target.read_bytes() == b"not yours"
    assert store.get("u2m", "emu") == {"n": 1}


def test_a_failed_write_whose_tidying_fails_too_is_still_reported_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EncryptedFileStore(tmp_path, key=K1)
    store.put("u2m", "emu", {"n": 1})

    def refuse_replace(src: object, dst: object) -> None:
        raise OSError(5, "Input/output error")

    def refuse_unlink(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(ef.os, "replace", refuse_replace)
    monkeypatch.setattr(Path, "unlink", refuse_unlink)
    with pytest.raises(StoreError) as info:
        store.put("u2m", "emu", {"n": 2})
    monkeypatch.undo()
    assert info.value.message == (
        f"Cannot write the secret store file {tmp_path / 'u2m' / 'emu.fernet'} "
        "(Input/output error)."
    )
    assert store.get("u2m", "emu") == {"n": 1}


# -- the store directory ---------------------------------------------------------------------


def test_a_new_store_is_private_from_the_start(
    tmp_path: Path, open_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    # Created 0700, not created open and tightened afterwards (which would log a warning and
    # leave a moment in which the directory is open).
    caplog.set_level(logging.WARNING)
    root = tmp_path / "deep" / "er" / "store"
    store = EncryptedFileStore(root, key=K1)
    store.put("u2m", "emu", {"n": 1})
    assert mode(root) == 0o700
    assert mode(root / "u2m") == 0o700
    assert mode(root / "u2m" / "emu.fernet") == 0o600
    assert [r.getMessage() for r in caplog.records if "accessible" in r.getMessage()] == []


def test_an_existing_store_directory_is_kept(tmp_path: Path) -> None:
    root = tmp_path / "store"
    root.mkdir(mode=0o700)
    (root / "keep").write_text("x")
    EncryptedFileStore(root, key=K1).put("u2m", "emu", {"n": 1})
    assert (root / "keep").read_text() == "x"


def test_a_store_path_that_cannot_be_a_directory_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    root = blocker / "store"
    with pytest.raises(StoreError) as info:
        EncryptedFileStore(root, key=K1)
    assert info.value.message == (
        f"Cannot create the secret store directory {root} (Not a directory)."
    )
    assert info.value.hint == "Choose a writable store path or fix the directory's permissions."
    assert blocker.read_text() == "x"


def test_each_directory_is_checked_once_per_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every token refresh writes a record: re-checking owner and mode of the same directories on
    # each write would cost an open and an fstat per directory for nothing.
    store = EncryptedFileStore(tmp_path, key=K1)
    store.put("u2m", "emu", {"n": 1})
    checked: list[Path] = []
    real = ef.check_private

    def counting(fd: int, path: Path, *, mode: int = 0o600) -> None:
        if path.is_dir():
            checked.append(path)
        real(fd, path, mode=mode)

    monkeypatch.setattr(ef, "check_private", counting)
    store.put("u2m", "emu", {"n": 2})
    store.put("u2m", "bob", {"n": 1})
    assert checked == []
    store.put("m2m", "sp", {"n": 1})
    assert checked == [tmp_path / "m2m"]


# -- which key source a message blames -------------------------------------------------------


def test_a_bad_configured_key_is_blamed_on_the_configuration(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        EncryptedFileStore(tmp_path, key=NOT_A_KEY)
    assert info.value.message == (
        "Store key #1 from the configured store key is not a valid key: it must be 32 bytes "
        "written as 64 hex digits or base64."
    )
    assert info.value.hint == KEY_HINT


def test_a_bad_environment_key_is_blamed_on_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_keys.ENV_VAR, f"{K1};{NOT_A_KEY}")
    with pytest.raises(StoreError) as info:
        EncryptedFileStore(tmp_path)
    assert info.value.message == (
        "Store key #2 from JUPYTER_DBX_AUTH_CRYPT_KEY is not a valid key: it must be 32 bytes "
        "written as 64 hex digits or base64."
    )
    assert not (tmp_path / "store.key").exists()  # a bad key is not replaced by a generated one


def test_a_blank_environment_key_means_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_keys.ENV_VAR, "  ")
    store = EncryptedFileStore(tmp_path)
    key_file = tmp_path / "store.key"
    assert store.warnings() == [
        f"The secret store key was generated and is kept in {key_file}: the store is only as "
        f"safe as that file. {KEY_HINT}"
    ]
    assert mode(key_file) == 0o600


def test_the_generated_key_file_is_kept_for_reading_only_and_said_so(tmp_path: Path) -> None:
    EncryptedFileStore(tmp_path).put("u2m", "old", {"n": 1})
    key_file = tmp_path / "store.key"
    store = EncryptedFileStore(tmp_path, key=K2)
    assert store.warnings() == [
        f"{key_file} is still used to read records written before a key was configured; "
        "delete it once `rotate()` has re-encrypted the store."
    ]
    assert store.get("u2m", "old") == {"n": 1}
    # The configured key encrypts: a store keyed with it alone reads what is written now.
    store.put("u2m", "new", {"n": 2})
    key_file.unlink()
    assert EncryptedFileStore(tmp_path, key=K2).get("u2m", "new") == {"n": 2}


def test_a_key_file_holding_the_configured_key_is_not_a_second_key(tmp_path: Path) -> None:
    EncryptedFileStore(tmp_path)
    generated = (tmp_path / "store.key").read_text().strip()
    assert EncryptedFileStore(tmp_path, key=generated).warnings() == []


# -- owner and mode --------------------------------------------------------------------------


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a file away")
def test_a_file_of_another_user_is_refused_in_words(tmp_path: Path) -> None:
    path = tmp_path / "theirs"
    path.write_text("x")
    os.chown(path, 4242, 4242)
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(StoreError) as info:
            check_private(fd, path)
    finally:
        os.close(fd)
    assert info.value.message == f"{path} belongs to another user (uid 4242); refusing to use it."
    assert info.value.hint == "Point the store at a directory you own, or fix the owner with chown."
    assert path.stat().st_uid == 4242  # refused before anything is changed


@pytest.mark.parametrize(("loose", "wanted"), [(0o644, 0o600), (0o4755, 0o700), (0o707, 0o700)])
def test_the_log_names_the_mode_found_and_the_mode_set(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, loose: int, wanted: int
) -> None:
    caplog.set_level(logging.WARNING)
    path = tmp_path / "f"
    path.write_text("x")
    path.chmod(loose)
    fd = os.open(path, os.O_RDONLY)
    try:
        check_private(fd, path, mode=wanted)
    finally:
        os.close(fd)
    assert mode(path) == wanted
    assert [r.getMessage() for r in caplog.records] == [
        f"{path} was accessible to other users (mode {loose & 0o777:o}); tightened to {wanted:o}."
    ]


def test_a_private_file_is_left_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    path = tmp_path / "f"
    path.write_text("x")
    path.chmod(0o400)  # owner-only bits: nothing to tighten (and not the mode it would set)
    before = mode(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        check_private(fd, path)
    finally:
        os.close(fd)
    assert mode(path) == before
    assert caplog.records == []
