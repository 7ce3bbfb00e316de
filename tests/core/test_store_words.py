"""What a person reads when the store or its key cannot be used, and the edges of key parsing
and record names: each message exact (what happened, what to do), each edge at its bound.
Mutation testing found these only ever matched loosely or not at all."""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from jupyter_dbx_auth.core.errors import StoreError
from jupyter_dbx_auth.core.secret import Secret
from jupyter_dbx_auth.core.store import EncryptedFileStore, _keys
from jupyter_dbx_auth.core.store import encrypted_file as ef
from jupyter_dbx_auth.core.store._keys import KEY_HINT, key_id, parse_keys, read_key_file
from jupyter_dbx_auth.core.store.encrypted_file import encode_name

RAW = bytes(range(32))
KEY = base64.urlsafe_b64encode(RAW)


# -- keys ----------------------------------------------------------------------------------


def test_every_written_form_of_a_key() -> None:
    assert parse_keys(RAW.hex(), source="s") == [KEY]
    assert parse_keys(KEY.rstrip(b"="), source="s") == [KEY]  # padding may be left out
    std = base64.b64encode(bytes([0xFB] * 32))  # holds "+" and "/": standard base64
    assert b"+" in std or b"/" in std
    assert parse_keys(std, source="s") == [base64.urlsafe_b64encode(bytes([0xFB] * 32))]
    assert parse_keys(Secret(KEY.decode()), source="s") == [KEY]
    other = Fernet.generate_key()
    assert parse_keys([Secret(KEY.decode()), other], source="s") == [KEY, other]
    assert parse_keys([f"{KEY.decode()};{other.decode()}"], source="s") == [KEY, other]
    assert parse_keys(f"{KEY.decode()};;{other.decode()};", source="s") == [KEY, other]


def test_a_bad_key_is_named_by_its_position_and_source() -> None:
    with pytest.raises(StoreError) as info:
        parse_keys(f"{KEY.decode()};not-a-key", source="JUPYTER_DBX_AUTH_CRYPT_KEY")
    assert info.value.message == (
        "Store key #2 from JUPYTER_DBX_AUTH_CRYPT_KEY is not a valid key: it must be 32 bytes "
        "written as 64 hex digits or base64."
    )
    assert info.value.hint == KEY_HINT
    with pytest.raises(StoreError, match=r"^Store key #1 from f is not"):
        parse_keys("short", source="f")
    with pytest.raises(StoreError) as info:
        parse_keys(" ; ", source="the file k")
    assert info.value.message == "No store key found in the file k."
    assert info.value.hint == KEY_HINT


def test_key_ids_are_stable() -> None:
    """Key ids are written beside every record: changing how they are made would make every
    existing store's error messages name keys nobody has."""
    assert (
        key_id(KEY) == "d9ddb6665241"
    )  # HMAC-SHA256 of a fixed label under the key, 12 hex digits
    assert key_id(Fernet.generate_key()) != key_id(KEY)


def test_a_key_file_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.key"
    real.write_bytes(KEY + b"\n")
    real.chmod(0o600)
    link = tmp_path / "store.key"
    link.symlink_to(real)
    with pytest.raises(StoreError) as info:
        read_key_file(link)
    assert info.value.message == (
        f"Cannot read the store key file {link} (Too many levels of symbolic links)."
    )
    assert info.value.hint == KEY_HINT


def test_a_key_file_readable_by_others_is_tightened_and_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    path = tmp_path / "store.key"
    path.write_bytes(KEY + b"\n")
    path.chmod(0o644)
    assert read_key_file(path) == KEY
    assert any(r.getMessage().startswith(f"{path} was accessible") for r in caplog.records)


def test_a_damaged_key_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "store.key"
    path.write_bytes(b"garbage\n")
    path.chmod(0o600)
    with pytest.raises(StoreError, match=rf"^Store key #1 from {path} is not a valid key"):
        read_key_file(path)


def test_fsync_dir_syncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(_keys.os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    _keys.fsync_dir(tmp_path)
    assert len(synced) == 1


# -- records -------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> EncryptedFileStore:
    return EncryptedFileStore(tmp_path / "store", key=KEY)


def record_path(store: EncryptedFileStore, key: str = "ws") -> Path:
    return store.path / "u2m" / (encode_name(key) + ".fernet")


def test_default_lock_timeout(tmp_path: Path) -> None:
    assert EncryptedFileStore(tmp_path / "s", key=KEY).lock_timeout == 60


def test_names_that_cannot_be_files(store: EncryptedFileStore) -> None:
    with pytest.raises(StoreError) as info:
        store.get("u2m", "bad\ud800")
    assert (info.value.message, info.value.hint) == (
        "A record name is not valid text.",
        "Check the connection name and client id.",
    )


def test_names_too_long_for_a_file(store: EncryptedFileStore) -> None:
    # The longest name whose write's temporary file name (".NAME.<12 hex>.tmp") still fits.
    longest = "x" * (ef.MAX_FILE_NAME - len(".fernet") - len("..") - 12 - len(".tmp"))
    store.put("u2m", longest, {"a": 1})
    assert store.get("u2m", longest) == {"a": 1}
    with pytest.raises(StoreError) as info:
        store.put("u2m", longest + "x", {"a": 1})
    assert (info.value.message, info.value.hint) == (
        "A record name is too long to store.",
        "Use a shorter connection name or client id.",
    )


@pytest.mark.parametrize("op", ["get", "put"])
def test_invalid_keys_are_refused_on_every_operation(store: EncryptedFileStore, op: str) -> None:
    args = ("u2m", "") if op == "get" else ("u2m", "", {"a": 1})
    with pytest.raises(StoreError, match="Invalid store key"):
        getattr(store, op)(*args)


def test_a_record_that_is_a_symlink_is_refused(store: EncryptedFileStore) -> None:
    store.put("u2m", "ws", {"a": 1})
    path = record_path(store)
    target = path.with_name("elsewhere")
    path.rename(target)
    path.symlink_to(target)
    with pytest.raises(StoreError) as info:
        store.get("u2m", "ws")
    assert info.value.message == (
        f"Cannot read the secret store file {path} (Too many levels of symbolic links)."
    )
    assert info.value.hint == (
        "Check the file's owner and permissions (it should be yours, mode 0600)."
    )


def test_a_record_readable_by_others_is_tightened_and_named(
    store: EncryptedFileStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.put("u2m", "ws", {"a": 1})
    path = record_path(store)
    path.chmod(0o644)
    caplog.set_level(logging.WARNING)
    assert store.get("u2m", "ws") == {"a": 1}
    assert any(r.getMessage().startswith(f"{path} was accessible") for r in caplog.records)


DAMAGED = "is damaged (not a jupyter-dbx-auth store record)"


@pytest.mark.parametrize("content", ["[1]", '"text"', "{ no", '{"format": "other"}'])
def test_damaged_records_in_words(store: EncryptedFileStore, content: str) -> None:
    store.put("u2m", "ws", {"a": 1})
    path = record_path(store)
    path.write_text(content)
    with pytest.raises(StoreError) as info:
        store.get("u2m", "ws")
    assert info.value.message == f"The secret store file {path} {DAMAGED}. It was left untouched."


def envelope_of(store: EncryptedFileStore) -> dict:
    return json.loads(record_path(store).read_bytes())


def test_a_record_from_a_newer_version(store: EncryptedFileStore) -> None:
    store.put("u2m", "ws", {"a": 1})
    env = envelope_of(store)
    record_path(store).write_text(json.dumps({**env, "schema": 99}))
    with pytest.raises(StoreError) as info:
        store.get("u2m", "ws")
    assert info.value.hint == (
        "Upgrade jupyter-dbx-auth, or use a separate store path for the older one."
    )


def test_a_record_under_a_key_not_configured(tmp_path: Path) -> None:
    old, new, other = Fernet.generate_key(), Fernet.generate_key(), Fernet.generate_key()
    EncryptedFileStore(tmp_path / "s", key=old).put("u2m", "ws", {"a": 1})
    store = EncryptedFileStore(tmp_path / "s", key=[new, other])
    with pytest.raises(StoreError) as info:
        store.get("u2m", "ws")
    path = record_path(store)
    assert info.value.message == (
        f"The secret store file {path} was encrypted with a key that is not configured "
        f"(key id {key_id(old)}; configured: {key_id(new)}, {key_id(other)}). "
        "It was left untouched."
    )
    assert info.value.hint == (
        "Add the old key to JUPYTER_DBX_AUTH_CRYPT_KEY after the new one (';'-separated), or "
        "move the file aside and sign in again."
    )


def test_an_edited_record_fails_its_integrity_check(store: EncryptedFileStore) -> None:
    store.put("u2m", "ws", {"a": 1})
    env = envelope_of(store)
    data = env["data"]
    env["data"] = data[:-5] + ("A" if data[-5] != "A" else "B") + data[-4:]
    record_path(store).write_text(json.dumps(env))
    with pytest.raises(StoreError) as info:
        store.get("u2m", "ws")
    assert info.value.message == (
        f"The secret store file {record_path(store)} failed its integrity check (damaged or "
        "edited). It was left untouched."
    )


def test_a_record_copied_onto_another_name_is_refused(store: EncryptedFileStore) -> None:
    store.put("u2m", "ws", {"a": 1})
    copy = record_path(store, "other")
    copy.write_bytes(record_path(store).read_bytes())
    copy.chmod(0o600)
    with pytest.raises(StoreError) as info:
        store.get("u2m", "other")
    assert info.value.message == (
        f"The secret store file {copy} holds another record (renamed or copied?). "
        "It was left untouched."
    )


def test_a_failed_write_says_what_to_check(
    store: EncryptedFileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put("u2m", "ws", {"a": 1})
    real_open = os.open

    def full(path, flags, *args):  # type: ignore[no-untyped-def]
        if str(path).endswith(".tmp"):
            raise OSError(28, "No space left on device")
        return real_open(path, flags, *args)

    monkeypatch.setattr(ef.os, "open", full)
    with pytest.raises(StoreError) as info:
        store.put("u2m", "ws", {"a": 2})
    monkeypatch.undo()
    assert info.value.message == (
        f"Cannot write the secret store file {record_path(store)} (No space left on device)."
    )
    assert info.value.hint == "Check free disk space and the store directory's permissions."
    assert store.get("u2m", "ws") == {"a": 1}  # the old record is intact
