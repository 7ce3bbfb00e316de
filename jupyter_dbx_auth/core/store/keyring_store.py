"""OS keyring store (macOS Keychain, Windows Credential Locker, Secret Service, KWallet).

Entries live under the service `jupyter-dbx-auth`:
    username "<namespace>/<key>"  ->  {"schema": 1, "record": {...}}
    username "__index__"          ->  {"schema": 1, "keys": {"<namespace>": ["<key>", ...]}}
Keyrings cannot list entries portably, hence the index. Invariant: every stored record is in the
index (it is added before the record is written and removed after the record is deleted), so a
crash can leave an index entry without a record (skipped by `keys()`), never a hidden secret.

Keyrings have no locks, so the cross-process lock is a `filelock` in the user state directory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

import keyring
import keyring.backend
import keyring.errors

from ..errors import StoreError
from ._keys import check_private
from ._locks import ProcessLocks
from ._records import check_names, dump_record, load_record
from .base import SecretStore, StoreRecord

SERVICE = "jupyter-dbx-auth"
INDEX = "__index__"
SCHEMA_VERSION = 1
_T = TypeVar("_T")

#: What keyring backends raise when they cannot work here (see select.py for the full story).
KEYRING_FAILURES: tuple[type[BaseException], ...] = (
    keyring.errors.KeyringError,
    RuntimeError,
    EOFError,
    OSError,
)


def default_state_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir("jupyter-dbx-auth"))


class KeyringStore(SecretStore):
    """Records as JSON in the OS keyring; `backend` defaults to `keyring.get_keyring()`."""

    backend = "keyring"

    def __init__(
        self,
        backend: keyring.backend.KeyringBackend | None = None,
        *,
        state_dir: str | os.PathLike[str] | None = None,
        service: str = SERVICE,
        lock_timeout: float = 60,
    ) -> None:
        self._keyring = backend if backend is not None else keyring.get_keyring()
        self.service = service
        self.lock_timeout = lock_timeout
        self.state_dir = Path(state_dir) if state_dir is not None else default_state_dir()
        self._lock_dir = self.state_dir / "locks"
        self._locks = ProcessLocks(lock_timeout)
        self._lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self._lock_dir, os.O_RDONLY)
        try:
            check_private(fd, self._lock_dir, mode=0o700)
        finally:
            os.close(fd)

    # -- keyring access with errors people can act on --
    def _failure(self, what: str, exc: BaseException) -> StoreError:
        # Only the exception type: a backend's message is not ours to vouch for.
        return StoreError(
            f"The OS keyring ({type(self._keyring).__name__}) failed to {what} "
            f"({type(exc).__name__}).",
            hint="Unlock the keyring (log in to the desktop session), or use the encrypted file "
            "store (store backend 'file').",
        )

    def _call(self, what: str, fn: Callable[..., _T], *args: Any) -> _T:
        try:
            return fn(*args)
        except KEYRING_FAILURES as exc:
            raise self._failure(what, exc) from None

    def _read(self, username: str) -> dict[str, Any] | None:
        text = self._call("read an entry", self._keyring.get_password, self.service, username)
        if text is None:
            return None
        try:
            value = load_record(text)
            schema = value.get("schema")
        except ValueError:
            schema = None
        if not isinstance(schema, int) or schema > SCHEMA_VERSION:
            raise StoreError(
                f"The keyring entry {self.service}/{username} is not a record this version of "
                "jupyter-dbx-auth can read. It was left untouched.",
                hint="Upgrade jupyter-dbx-auth, or remove the entry with your keyring tool and "
                "sign in again.",
            )
        return value

    def _write(self, username: str, text: str) -> None:
        self._call("save an entry", self._keyring.set_password, self.service, username, text)

    # -- index --
    def _index(self) -> dict[str, list[str]]:
        value = self._read(INDEX)
        keys = value.get("keys") if value else None
        return keys if isinstance(keys, dict) else {}

    def _change_index(self, namespace: str, key: str, present: bool) -> None:
        with self._locked(INDEX):
            index = self._index()
            names = set(index.get(namespace, []))
            if (key in names) == present:
                return
            names.add(key) if present else names.discard(key)
            index[namespace] = sorted(names)
            self._write(INDEX, json.dumps({"schema": SCHEMA_VERSION, "keys": index}))

    # -- SecretStore --
    def get(self, namespace: str, key: str) -> StoreRecord | None:
        check_names(namespace, key)
        value = self._read(f"{namespace}/{key}")
        if value is None:
            return None
        record = value.get("record")
        if not isinstance(record, dict):
            raise StoreError(
                f"The keyring entry {self.service}/{namespace}/{key} is damaged.",
                hint="Remove it with your keyring tool and sign in again.",
            )
        return record

    def put(self, namespace: str, key: str, record: StoreRecord) -> None:
        check_names(namespace, key)
        text = dump_record(record, schema=SCHEMA_VERSION)
        with self.lock(namespace, key):
            self._change_index(namespace, key, True)
            self._write(f"{namespace}/{key}", text)

    def delete(self, namespace: str, key: str) -> bool:
        check_names(namespace, key)
        with self.lock(namespace, key):
            existed = self._read(f"{namespace}/{key}") is not None
            if existed:
                try:
                    self._keyring.delete_password(self.service, f"{namespace}/{key}")
                except keyring.errors.PasswordDeleteError:
                    existed = False  # gone already (another process won)
                except KEYRING_FAILURES as exc:
                    raise self._failure("delete an entry", exc) from None
            self._change_index(namespace, key, False)
            return existed

    def keys(self, namespace: str) -> list[str]:
        check_names(namespace)
        listed = self._index().get(namespace, [])
        # Skip index entries whose record was never written (a crash between the two writes).
        return sorted(k for k in listed if self._read(f"{namespace}/{k}") is not None)

    # -- locking --
    def _locked(self, name: str) -> AbstractContextManager[None]:
        from .encrypted_file import encode_name

        return self._locks.hold(
            name, lambda: self._lock_dir / f"{encode_name(name)}.lock", f"the keyring lock {name}"
        )

    def lock(self, namespace: str, key: str) -> AbstractContextManager[None]:
        check_names(namespace, key)
        return self._locked(f"{namespace}/{key}")

    def __repr__(self) -> str:
        return f"<KeyringStore keyring={type(self._keyring).__name__} service={self.service!r}>"
