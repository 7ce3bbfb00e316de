"""Behaviour every backend shares: round trips, isolation of records, locking, the canary."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from keyring_doubles import MemoryKeyring

from jupyter_dbx_auth.core.errors import StoreError
from jupyter_dbx_auth.core.secret import Secret
from jupyter_dbx_auth.core.store import (
    EncryptedFileStore,
    KeyringStore,
    MemoryStore,
    SecretStore,
    open_store,
)

KEY = "0f" * 32


@pytest.fixture(params=["memory", "file", "keyring"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SecretStore]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "file":
        yield EncryptedFileStore(tmp_path / "store", key=KEY)
    else:
        yield KeyringStore(MemoryKeyring(), state_dir=tmp_path / "state")


def test_round_trip(store: SecretStore) -> None:
    assert store.get("u2m", "emu") is None
    record = {"refresh_token": "rt-1", "host": "https://h", "n": 3, "nested": {"a": [1, None]}}
    store.put("u2m", "emu", record)
    assert store.get("u2m", "emu") == record
    store.put("u2m", "emu", {"refresh_token": "rt-2"})
    assert store.get("u2m", "emu") == {"refresh_token": "rt-2"}
    assert store.keys("u2m") == ["emu"]
    assert store.keys("sp") == []
    assert dict(store.items("u2m")) == {"emu": {"refresh_token": "rt-2"}}
    assert store.delete("u2m", "emu") is True
    assert store.delete("u2m", "emu") is False
    assert store.get("u2m", "emu") is None
    assert store.keys("u2m") == []


def test_secret_values_are_stored_revealed(store: SecretStore) -> None:
    store.put("sp", "emu/abc", {"client_secret": Secret("s3cr3t")})
    assert store.get("sp", "emu/abc") == {"client_secret": "s3cr3t"}


def test_odd_key_names(store: SecretStore) -> None:
    names = ["Emu", "emu", "a/b", ".", "..", "ünï côdé", "x%41", "https://h.example.com/oidc"]
    for i, name in enumerate(names):
        store.put("u2m", name, {"i": i})
    assert store.keys("u2m") == sorted(names)
    for i, name in enumerate(names):
        assert store.get("u2m", name) == {"i": i}


def test_records_are_copies(store: SecretStore) -> None:
    record = {"a": [1]}
    store.put("u2m", "k", record)
    record["a"].append(2)
    got = store.get("u2m", "k")
    assert got == {"a": [1]}
    got["a"].append(3)  # type: ignore[index]
    assert store.get("u2m", "k") == {"a": [1]}


@pytest.mark.parametrize("namespace,key", [("U2M", "k"), ("a/b", "k"), ("u2m", ""), ("", "k")])
def test_bad_names(store: SecretStore, namespace: str, key: str) -> None:
    with pytest.raises(StoreError):
        store.put(namespace, key, {})


def test_bad_record(store: SecretStore) -> None:
    with pytest.raises(StoreError, match="JSON"):
        store.put("u2m", "k", {"x": object()})
    with pytest.raises(StoreError):
        store.put("u2m", "k", ["not", "a", "dict"])  # type: ignore[arg-type]


def test_update_deletes_on_none(store: SecretStore) -> None:
    store.put("u2m", "k", {"n": 1})
    assert store.update("u2m", "k", lambda r: None) is None
    assert store.get("u2m", "k") is None


def test_threads_do_not_lose_updates(store: SecretStore) -> None:
    def bump() -> None:
        for _ in range(25):
            store.update("u2m", "counter", lambda r: {"n": (r or {"n": 0})["n"] + 1})

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("u2m", "counter") == {"n": 100}


def test_lock_is_reentrant(store: SecretStore) -> None:
    with store.lock("u2m", "k"), store.lock("u2m", "k"):
        store.put("u2m", "k", {"n": 1})
    assert store.get("u2m", "k") == {"n": 1}


class Leaky:
    """An object whose repr is the canary: a record value we cannot serialise."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return self.value


class FailingKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"cannot store {password}")  # a careless backend echoing the value


def test_canary_never_leaks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = "CANARY-" + secrets.token_hex(16)
    store_key = "0a" * 32
    ring = MemoryKeyring()
    stores: list[SecretStore] = [
        MemoryStore(),
        EncryptedFileStore(tmp_path / "file", key=store_key),
        EncryptedFileStore(tmp_path / "generated"),
        KeyringStore(ring, state_dir=tmp_path / "state"),
        open_store("file", path=tmp_path / "opened", key=store_key),
    ]
    messages: list[str] = []
    for store in stores:
        store.put("u2m", "emu", {"refresh_token": canary, "client_secret": Secret(canary)})
        store.update("u2m", "emu", lambda r: {**(r or {}), "access": canary})
        assert store.get("u2m", "emu") == {
            "refresh_token": canary,
            "client_secret": canary,
            "access": canary,
        }
        for bad in ({"x": Leaky(canary)}, {canary: object()}):
            with pytest.raises(StoreError) as info:
                store.put("u2m", "emu", bad)
            messages.append(str(info.value))
        messages += [repr(store), str(store), repr(vars(store)), *store.warnings()]

    # Errors raised while a canary is on disk: wrong key, damaged file, failing keyring.
    with pytest.raises(StoreError) as info:
        EncryptedFileStore(tmp_path / "file", key="0b" * 32).get("u2m", "emu")
    messages.append(str(info.value))
    failing = KeyringStore(FailingKeyring(), state_dir=tmp_path / "state2")
    with pytest.raises(StoreError) as info:
        failing.put("u2m", "emu", {"refresh_token": canary})
    messages.append(str(info.value))
    assert info.value.__cause__ is None and info.value.__suppress_context__

    for text in messages:
        assert canary not in text
        assert store_key not in text
    assert canary not in caplog.text
    assert store_key not in caplog.text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), path
    # The keyring itself holds it, as JSON: that is the point of a keyring.
    assert any(canary in value for value in ring.data.values())
