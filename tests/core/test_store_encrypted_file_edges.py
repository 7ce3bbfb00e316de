"""Edges of `EncryptedFileStore` that mutation testing found unpinned: names that do not decode,
deleting what is not there or not a name, directories `rotate` must skip, the words of a damaged
record, and `repr`."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from jupyter_dbx_auth.core.errors import StoreError
from jupyter_dbx_auth.core.store import EncryptedFileStore
from jupyter_dbx_auth.core.store.encrypted_file import decode_name, encode_name


@pytest.fixture
def store(tmp_path: Path) -> EncryptedFileStore:
    return EncryptedFileStore(tmp_path / "store", key=Fernet.generate_key())


def test_a_file_name_that_is_not_utf8_is_refused_not_guessed() -> None:
    assert decode_name(encode_name("émulateur/ws")) == "émulateur/ws"
    with pytest.raises(UnicodeDecodeError):
        decode_name("%ff%fe")


def test_delete(store: EncryptedFileStore) -> None:
    assert store.delete("u2m", "absent") is False
    store.put("u2m", "ws", {"refresh_token": "r"})
    assert store.delete("u2m", "ws") is True
    assert store.get("u2m", "ws") is None
    assert store.delete("u2m", "ws") is False
    with pytest.raises(StoreError, match="Invalid store key"):
        store.delete("u2m", "")
    with pytest.raises(StoreError, match="Invalid store key"):
        store.delete("u2m", "a\x00b")


def test_rotate_skips_hidden_directories(store: EncryptedFileStore, tmp_path: Path) -> None:
    store.put("u2m", "ws", {"refresh_token": "r"})
    hidden = store.path / ".old-copy"
    hidden.mkdir()
    (hidden / "x.json").write_text("not ours")
    (store.path / "notes.txt").write_text("not a namespace")
    assert store.rotate() == 1
    assert (hidden / "x.json").read_text() == "not ours"


def test_a_damaged_record_says_what_to_do(store: EncryptedFileStore) -> None:
    store.put("u2m", "ws", {"refresh_token": "r"})
    path = store.path / "u2m" / (encode_name("ws") + ".fernet")
    path.write_text("{ damaged")
    with pytest.raises(StoreError) as info:
        store.get("u2m", "ws")
    assert info.value.message == (
        f"The secret store file {path} is damaged (not a jupyter-dbx-auth store record). "
        "It was left untouched."
    )
    assert info.value.hint == (
        "Restore it from a backup, or move it aside and sign in (or save the secret) again for "
        "that connection."
    )
    assert path.read_text() == "{ damaged"


def test_repr_names_the_path_and_key_ids_only(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    store = EncryptedFileStore(tmp_path / "store", key=key)
    text = repr(store)
    assert text.startswith(f"<EncryptedFileStore path={str(tmp_path / 'store')!r} key_ids=[")
    assert key.decode() not in text


def test_delete_racing_another_delete_says_false(
    store: EncryptedFileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process removed the record between our check and our unlink (under the lock we
    were waiting for): it was not this call that deleted it."""
    store.put("u2m", "ws", {"refresh_token": "r"})
    real_lock = store.lock

    def lock_after_the_other_delete(namespace: str, key: str):  # type: ignore[no-untyped-def]
        store._file(namespace, key).unlink()  # the other process, just before we got the lock
        return real_lock(namespace, key)

    monkeypatch.setattr(store, "lock", lock_after_the_other_delete)
    assert store.delete("u2m", "ws") is False
