"""KeyringStore with a working in-memory keyring, and `open_store` on broken keyrings.

This machine has no desktop keyring (no D-Bus), so each failure mode seen on headless machines is
reproduced by a small fake backend installed with `keyring.set_keyring`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import pytest
from keyring_doubles import MemoryKeyring

from jupyter_dbx_auth.core.errors import StoreError
from jupyter_dbx_auth.core.store import (
    EncryptedFileStore,
    KeyringStore,
    MemoryStore,
    open_store,
)


def raising(exc: BaseException) -> type[keyring.backend.KeyringBackend]:
    class Broken(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise exc

        set_password = get_password  # type: ignore[assignment]

    return Broken


class PlaintextKeyring(MemoryKeyring):
    """Named like keyrings.alt's: base64 in a file is not protection."""


class EmptyChainer(keyring.backends.chainer.ChainerBackend):
    @property
    def backends(self) -> list[keyring.backend.KeyringBackend]:  # type: ignore[override]
        return []


@pytest.fixture
def install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[keyring.backend.KeyringBackend], None]]:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    previous = keyring.get_keyring()
    yield keyring.set_keyring
    keyring.set_keyring(previous)


def test_keyring_store_round_trip_and_format(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    store = KeyringStore(ring, state_dir=tmp_path)
    store.put("u2m", "emu", {"refresh_token": "rt"})
    store.put("sp", "emu/abc", {"client_secret": "cs"})
    assert store.get("u2m", "emu") == {"refresh_token": "rt"}
    assert json.loads(ring.data[("jupyter-dbx-auth", "u2m/emu")]) == {
        "schema": 1,
        "record": {"refresh_token": "rt"},
    }
    index = json.loads(ring.data[("jupyter-dbx-auth", "__index__")])
    assert index["keys"] == {"u2m": ["emu"], "sp": ["emu/abc"]}
    assert KeyringStore(ring, state_dir=tmp_path).keys("sp") == ["emu/abc"]
    assert store.delete("sp", "emu/abc") is True
    assert json.loads(ring.data[("jupyter-dbx-auth", "__index__")])["keys"]["sp"] == []
    assert (tmp_path / "locks").stat().st_mode & 0o777 == 0o700


def test_index_entry_without_record_is_skipped(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    store = KeyringStore(ring, state_dir=tmp_path)
    store.put("u2m", "a", {"n": 1})
    store.put("u2m", "b", {"n": 2})
    del ring.data[("jupyter-dbx-auth", "u2m/b")]  # as if a crash hit between the two writes
    assert store.keys("u2m") == ["a"]


def test_unreadable_entry_is_reported(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    ring.data[("jupyter-dbx-auth", "u2m/emu")] = '{"schema": 9, "record": {}}'
    with pytest.raises(StoreError, match="left untouched"):
        KeyringStore(ring, state_dir=tmp_path).get("u2m", "emu")
    assert ("jupyter-dbx-auth", "u2m/emu") in ring.data


FAILURES = [
    (keyring.errors.NoKeyringError("No recommended backend"), "no OS keyring is available"),
    (RuntimeError("org.freedesktop.DBus.Error.NoServer"), "no D-Bus"),
    (EOFError("EOF when reading a line"), "no terminal"),
    (keyring.errors.KeyringLocked("Failed to unlock the keyring"), "is locked"),
]


@pytest.mark.parametrize("exc,reason", FAILURES, ids=lambda v: type(v).__name__)
def test_auto_falls_back_when_keyring_raises(
    install, tmp_path: Path, caplog: pytest.LogCaptureFixture, exc: BaseException, reason: str
) -> None:
    install(raising(exc)())
    caplog.set_level(logging.INFO, logger="jupyter_dbx_auth.core.store")
    store = open_store("auto", path=tmp_path / "store", key="33" * 32)  # key: see below
    assert isinstance(store, EncryptedFileStore)
    # A configured key alone selects the file; without it the probe runs and logs its reason.
    caplog.clear()
    store = open_store("auto", path=tmp_path / "store2")
    assert isinstance(store, EncryptedFileStore)
    assert store.path == tmp_path / "store2"
    lines = [r for r in caplog.records if r.name.endswith("select")]
    assert len(lines) == 1
    assert reason in lines[0].getMessage()
    assert type(exc).__name__ in lines[0].getMessage()
    with pytest.raises(StoreError, match="keyring secret store was requested"):
        open_store("keyring")


@pytest.mark.parametrize(
    "backend",
    [
        keyring.backends.fail.Keyring(),
        keyring.backends.null.Keyring(),
        PlaintextKeyring(),
        EmptyChainer(),
    ],
    ids=lambda b: type(b).__name__,
)
def test_auto_ignores_backends_that_are_not_real(
    install, tmp_path: Path, caplog: pytest.LogCaptureFixture, backend
) -> None:
    install(backend)
    caplog.set_level(logging.INFO, logger="jupyter_dbx_auth.core.store")
    store = open_store("auto", path=tmp_path / "store")
    assert isinstance(store, EncryptedFileStore)
    (line,) = [r.getMessage() for r in caplog.records if r.name.endswith("select")]
    assert "using the encrypted file" in line


def test_auto_uses_a_real_keyring(install, tmp_path: Path) -> None:
    ring = MemoryKeyring()
    install(ring)
    store = open_store("auto")
    assert isinstance(store, KeyringStore)
    store.put("u2m", "emu", {"refresh_token": "rt"})
    assert open_store("keyring").get("u2m", "emu") == {"refresh_token": "rt"}
    # ... unless a store key is configured: then the file that key protects is wanted.
    assert isinstance(open_store("auto", path=tmp_path / "f", key="44" * 32), EncryptedFileStore)


def test_auto_default_path_is_in_user_data_dir(install, tmp_path: Path) -> None:
    install(keyring.backends.fail.Keyring())
    store = open_store("auto")
    assert isinstance(store, EncryptedFileStore)
    assert store.path == tmp_path / "data" / "jupyter-dbx-auth" / "store"


def test_other_backends(tmp_path: Path) -> None:
    assert isinstance(open_store("memory"), MemoryStore)
    assert isinstance(open_store("file", path=tmp_path), EncryptedFileStore)
    with pytest.raises(StoreError, match="Unknown secret store backend"):
        open_store("plaintext")


def test_keyring_failure_during_use_is_a_store_error(tmp_path: Path) -> None:
    store = KeyringStore(raising(RuntimeError("no D-Bus"))(), state_dir=tmp_path)
    with pytest.raises(StoreError, match="RuntimeError") as info:
        store.put("u2m", "emu", {"refresh_token": "rt"})
    assert "file" in info.value.hint
