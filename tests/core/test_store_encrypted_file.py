"""EncryptedFileStore: permissions, schema, keys and rotation, damaged files."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from jupyter_dbx_auth.core.errors import StoreError
from jupyter_dbx_auth.core.store import EncryptedFileStore
from jupyter_dbx_auth.core.store._keys import key_id
from jupyter_dbx_auth.core.store.encrypted_file import encode_name

K1 = "11" * 32
K2 = Fernet.generate_key().decode()  # the other accepted spelling: urlsafe base64


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def record_file(root: Path, namespace: str = "u2m", key: str = "emu") -> Path:
    return root / namespace / (encode_name(key) + ".fernet")


def envelope(path: Path) -> dict:
    return json.loads(path.read_bytes())


def test_permissions(tmp_path: Path) -> None:
    root = tmp_path / "a" / "store"
    store = EncryptedFileStore(root)
    store.put("u2m", "emu", {"refresh_token": "x"})
    assert mode(root) == 0o700
    assert mode(root / "u2m") == 0o700
    assert mode(record_file(root)) == 0o600
    assert mode(root / "store.key") == 0o600
    assert mode(root / "u2m" / "emu.lock") == 0o600


def test_loose_permissions_are_tightened(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "store"
    EncryptedFileStore(root, key=K1).put("u2m", "emu", {"n": 1})
    os.chmod(root, 0o755)  # noqa: S103 - the looseness under test
    os.chmod(record_file(root), 0o644)
    caplog.set_level(logging.WARNING)
    store = EncryptedFileStore(root, key=K1)
    assert store.get("u2m", "emu") == {"n": 1}
    assert mode(root) == 0o700
    assert mode(record_file(root)) == 0o600
    assert "tightened" in caplog.text


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a file away")
def test_foreign_owner_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = EncryptedFileStore(root, key=K1)
    store.put("u2m", "emu", {"n": 1})
    os.chown(record_file(root), 4242, 4242)
    with pytest.raises(StoreError, match="belongs to another user") as info:
        store.get("u2m", "emu")
    assert "chown" in info.value.hint


def test_schema_version_field(tmp_path: Path) -> None:
    store = EncryptedFileStore(tmp_path, key=K1)
    store.put("u2m", "emu", {"n": 1})
    path = record_file(tmp_path)
    data = envelope(path)
    assert data["format"] == "jupyter-dbx-auth/store"
    assert data["schema"] == 1
    data["schema"] = 2
    newer = json.dumps(data).encode()
    path.write_bytes(newer)
    with pytest.raises(StoreError, match="schema version 2") as info:
        store.get("u2m", "emu")
    assert "Upgrade" in info.value.hint
    assert path.read_bytes() == newer


def test_key_from_environment_hex_or_base64(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_DBX_AUTH_CRYPT_KEY", f"{K1};{K2};")
    store = EncryptedFileStore(tmp_path)
    store.put("u2m", "emu", {"n": 1})
    assert not (tmp_path / "store.key").exists()
    assert store.warnings() == []
    assert envelope(record_file(tmp_path))["kid"] == key_id(
        base64.urlsafe_b64encode(bytes(32 * [0x11]))
    )
    # The second key alone decrypts nothing written now, but a store keyed "K2;K1" reads it.
    assert EncryptedFileStore(tmp_path, key=[K2, K1]).get("u2m", "emu") == {"n": 1}


def test_generated_key_warns_and_is_reused(tmp_path: Path) -> None:
    first = EncryptedFileStore(tmp_path)
    (warning,) = first.warnings()
    assert str(tmp_path / "store.key") in warning
    assert "only as safe as that file" in warning
    first.put("u2m", "emu", {"n": 1})
    assert EncryptedFileStore(tmp_path).get("u2m", "emu") == {"n": 1}


def test_rotation(tmp_path: Path) -> None:
    EncryptedFileStore(tmp_path, key=K1).put("u2m", "emu", {"n": 1})
    EncryptedFileStore(tmp_path, key=K1).put("u2m", "other", {"n": 2})
    rotated = EncryptedFileStore(tmp_path, key=f"{K2};{K1}")
    assert rotated.get("u2m", "emu") == {"n": 1}  # the old key still decrypts
    rotated.put("u2m", "emu", {"n": 3})  # a write re-encrypts with the newest key
    new_kid = envelope(record_file(tmp_path))["kid"]
    assert new_kid == rotated._kids[0] != EncryptedFileStore(tmp_path, key=K1)._kids[0]
    assert EncryptedFileStore(tmp_path, key=K2).get("u2m", "emu") == {"n": 3}
    with pytest.raises(StoreError):
        EncryptedFileStore(tmp_path, key=K2).get("u2m", "other")
    assert rotated.rotate() == 2
    assert EncryptedFileStore(tmp_path, key=K2).get("u2m", "other") == {"n": 2}


def test_generated_key_migrates_to_configured_key(tmp_path: Path) -> None:
    EncryptedFileStore(tmp_path).put("u2m", "emu", {"n": 1})
    store = EncryptedFileStore(tmp_path, key=K1)
    assert store.get("u2m", "emu") == {"n": 1}
    assert any("rotate()" in w for w in store.warnings())
    store.rotate()
    (tmp_path / "store.key").unlink()
    assert EncryptedFileStore(tmp_path, key=K1).get("u2m", "emu") == {"n": 1}


def test_wrong_key_leaves_file_intact(tmp_path: Path) -> None:
    EncryptedFileStore(tmp_path, key=K1).put("u2m", "emu", {"n": 1})
    before = record_file(tmp_path).read_bytes()
    store = EncryptedFileStore(tmp_path, key=K2)
    with pytest.raises(StoreError, match="key that is not configured") as info:
        store.get("u2m", "emu")
    assert "JUPYTER_DBX_AUTH_CRYPT_KEY" in info.value.hint
    with pytest.raises(StoreError):
        store.update("u2m", "emu", lambda r: {"n": 2})
    assert record_file(tmp_path).read_bytes() == before
    assert EncryptedFileStore(tmp_path, key=K1).get("u2m", "emu") == {"n": 1}


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda b: b"", "damaged"),
        (lambda b: b[: len(b) // 2], "damaged"),
        (lambda b: b"\x00garbage\xff", "damaged"),
        (lambda b: b.replace(b'"data": "gAAAAA', b'"data": "gAAAAB'), "integrity"),
    ],
)
def test_damaged_file_is_reported_and_kept(tmp_path: Path, damage, message: str) -> None:
    store = EncryptedFileStore(tmp_path, key=K1)
    store.put("u2m", "emu", {"n": 1})
    path = record_file(tmp_path)
    broken = damage(path.read_bytes())
    path.write_bytes(broken)
    with pytest.raises(StoreError, match=message) as info:
        store.get("u2m", "emu")
    assert str(path) in str(info.value)
    assert "left untouched" in str(info.value)
    assert "move it aside" in info.value.hint
    assert path.read_bytes() == broken
    assert store.keys("u2m") == ["emu"]


def test_file_moved_onto_another_record_is_refused(tmp_path: Path) -> None:
    store = EncryptedFileStore(tmp_path, key=K1)
    store.put("u2m", "alice", {"who": "alice"})
    os.replace(record_file(tmp_path, key="alice"), record_file(tmp_path, key="bob"))
    with pytest.raises(StoreError, match="another record"):
        store.get("u2m", "bob")


@pytest.mark.parametrize("bad", ["short", "zz" * 32, "11" * 31, ";"])
def test_invalid_keys(tmp_path: Path, bad: str) -> None:
    with pytest.raises(StoreError) as info:
        EncryptedFileStore(tmp_path, key=bad)
    assert "openssl rand -hex 32" in info.value.hint
    if bad != ";":
        assert bad not in str(info.value)


def test_stale_temp_files_are_ignored_and_tidied(tmp_path: Path) -> None:
    store = EncryptedFileStore(tmp_path, key=K1)
    store.put("u2m", "emu", {"n": 1})
    stale = tmp_path / "u2m" / ".emu.fernet.0123456789ab.tmp"
    stale.write_bytes(b"half a reco")
    assert store.keys("u2m") == ["emu"]
    assert store.get("u2m", "emu") == {"n": 1}
    store.put("u2m", "emu", {"n": 2})
    assert not stale.exists()
    assert sorted(p.name for p in (tmp_path / "u2m").iterdir()) == ["emu.fernet", "emu.lock"]


def test_lock_timeout_names_the_record(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    store = EncryptedFileStore(tmp_path, key=K1, lock_timeout=0.2)
    store.put("u2m", "emu", {"n": 1})
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock; l = FileLock(sys.argv[1]); "
            "l.acquire(); print('held', flush=True); time.sleep(30)",
            str(tmp_path / "u2m" / "emu.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(StoreError, match="u2m/emu"):
            store.put("u2m", "emu", {"n": 2})
        assert time.monotonic() - started < 5
    finally:
        holder.kill()
        holder.wait()
    store.put("u2m", "emu", {"n": 3})  # the dead holder's lock is released by the kernel
    assert store.get("u2m", "emu") == {"n": 3}


def test_deleting_a_record_that_does_not_exist_creates_no_file(tmp_path: Path) -> None:
    store = EncryptedFileStore(tmp_path, key=Fernet.generate_key().decode())
    store.put("sp", "etl/a", {"client_secret": "x"})
    before = sorted(p.name for p in tmp_path.rglob("*"))
    for i in range(50):
        assert store.delete("sp", f"etl/made-up-{i}") is False
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert store.delete("sp", "etl/a") is True
