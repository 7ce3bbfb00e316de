"""`core.store._keys.create_key_file`: the generated key's file, two servers racing to create it,
and the warning that says where the key is (mutation testing found these unpinned)."""

from __future__ import annotations

import base64
import logging
import stat
from pathlib import Path

import pytest

from jupyter_dbx_auth.core.errors import StoreError
from jupyter_dbx_auth.core.store import _keys
from jupyter_dbx_auth.core.store._keys import KEY_HINT, create_key_file, read_key_file


def test_the_key_file_holds_the_key_and_a_newline_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=_keys.__name__)
    path = tmp_path / "store.key"
    key = create_key_file(path)
    assert path.read_bytes() == key + b"\n"
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_key_file(path) == key
    assert [p.name for p in tmp_path.iterdir()] == ["store.key"]  # no temporary file left
    [record] = caplog.records
    assert record.getMessage() == (
        f"Generated a new secret store key in {path}: the store is only as safe as that "
        f"file. {KEY_HINT}"
    )


def test_the_loser_of_a_race_uses_the_winners_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=_keys.__name__)
    path = tmp_path / "store.key"
    winner = create_key_file(path)
    caplog.clear()
    assert create_key_file(path) == winner  # the name exists: link() fails, the file is read
    assert path.read_bytes() == winner + b"\n"
    assert [p.name for p in tmp_path.iterdir()] == ["store.key"]
    assert not caplog.records  # nothing was generated


def test_a_key_file_gone_between_link_and_read_is_an_error_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.key"
    create_key_file(path)
    monkeypatch.setattr(_keys, "read_key_file", lambda p: None)
    with pytest.raises(StoreError) as info:
        create_key_file(path)
    assert info.value.message == f"The store key file {path} vanished."
    assert info.value.hint == KEY_HINT
    assert [p.name for p in tmp_path.iterdir()] == ["store.key"]
