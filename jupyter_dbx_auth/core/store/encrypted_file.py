"""Encrypted file store: one Fernet-encrypted file per record.

Layout under `path` (0700):
    store.key                 the generated key, only when no key is configured (0600)
    <namespace>/              0700
        <key>.fernet          one record: {"format", "schema", "kid", "data": <Fernet token>}
        <key>.lock            the cross-process lock of that record

Why one file per record: a refresh for connection A never rewrites (or risks) connection B's
token, the lock is per record so two connections refresh in parallel, and a write is one small
atomic replace. The encrypted payload names its namespace and key, so a file renamed onto another
record is refused instead of silently used.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..errors import StoreError
from . import _keys
from ._keys import KEY_HINT, KeySpec, check_private, fsync_dir
from ._locks import ProcessLocks
from ._records import check_names, dump_record, load_record
from .base import SecretStore, StoreRecord

log = logging.getLogger(__name__)

FORMAT = "jupyter-dbx-auth/store"
SCHEMA_VERSION = 1
SUFFIX = ".fernet"
KEY_FILE = "store.key"
_SAFE = re.compile(r"[a-z0-9_-]")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


#: Longest file name most file systems accept (bytes; encode_name output is ASCII).
MAX_FILE_NAME = 255
#: What a write's temporary name adds to a record's file name (`._write`: ".NAME.<12 hex>.tmp").
_TEMP_EXTRA = len(".") + len(".") + 12 + len(".tmp")


def encode_name(key: str) -> str:
    """File-name form of a record key: readable for ordinary names, unambiguous for any other.

    Only [a-z0-9_-] stay as they are; everything else (upper case too, so that case-insensitive
    file systems cannot merge "Emu" and "emu"; dots, so "." and ".." are harmless) becomes %XX.
    """
    return "".join(
        ch if _SAFE.match(ch) else "".join(f"%{b:02X}" for b in ch.encode()) for ch in key
    )


def decode_name(name: str) -> str:
    from urllib.parse import unquote

    return unquote(name, errors="strict")


class EncryptedFileStore(SecretStore):
    """Records encrypted with Fernet/MultiFernet, one file each.

    `key`: one key, a `;`-separated list or a sequence (newest first); default the
    `JUPYTER_DBX_AUTH_CRYPT_KEY` environment variable; without either, a key generated into
    `path/store.key`. A `store.key` left from before a key was configured still decrypts, so
    records migrate to the configured key on their next write (or on `rotate()`).
    """

    backend = "encrypted-file"

    def __init__(
        self, path: str | os.PathLike[str], key: KeySpec | None = None, *, lock_timeout: float = 60
    ) -> None:
        self.path = Path(path).expanduser()
        self.lock_timeout = lock_timeout
        self._warnings: list[str] = []
        self._locks = ProcessLocks(lock_timeout)
        self._checked_dirs: set[str] = set()
        self._ensure_dir(self.path)
        keys = self._load_keys(key)
        # Key ids only: the keys themselves live inside the MultiFernet and nowhere else on self.
        self._kids = [_keys.key_id(k) for k in keys]
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    # -- keys --
    def _load_keys(self, key: KeySpec | None) -> list[bytes]:
        key_file = self.path / KEY_FILE
        if key is not None:
            keys = _keys.parse_keys(key, source="the configured store key")
        elif os.environ.get(_keys.ENV_VAR, "").strip():
            keys = _keys.parse_keys(os.environ[_keys.ENV_VAR], source=_keys.ENV_VAR)
        else:
            generated = _keys.read_key_file(key_file) or _keys.create_key_file(key_file)
            self._warnings.append(
                f"The secret store key was generated and is kept in {key_file}: the store is "
                f"only as safe as that file. {KEY_HINT}"
            )
            return [generated]
        legacy = _keys.read_key_file(key_file)
        if legacy is not None and legacy not in keys:
            keys.append(legacy)  # decrypt-only: the first key is the one that encrypts
            self._warnings.append(
                f"{key_file} is still used to read records written before a key was configured; "
                "delete it once `rotate()` has re-encrypted the store."
            )
        return keys

    def warnings(self) -> list[str]:
        return list(self._warnings)

    # -- paths and permissions --
    def _ensure_dir(self, directory: Path) -> None:
        if str(directory) in self._checked_dirs:
            return
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if os.name == "nt":  # pragma: no cover - no POSIX modes; the profile dir is private
                self._checked_dirs.add(str(directory))
                return
            fd = os.open(directory, os.O_RDONLY)
        except OSError as exc:
            raise StoreError(
                f"Cannot create the secret store directory {directory} ({exc.strerror}).",
                hint="Choose a writable store path or fix the directory's permissions.",
            ) from None
        try:
            check_private(fd, directory, mode=0o700)
        finally:
            os.close(fd)
        self._checked_dirs.add(str(directory))

    def _file(self, namespace: str, key: str, suffix: str = SUFFIX) -> Path:
        # Refused here rather than by the OS: ENAMETOOLONG's message carries the absolute path,
        # and a lone surrogate cannot be encoded at all. Neither message names the store path.
        try:
            name = encode_name(key) + suffix
        except UnicodeEncodeError:
            raise StoreError(
                "A record name is not valid text.", hint="Check the connection name and client id."
            ) from None
        if len(name) + _TEMP_EXTRA > MAX_FILE_NAME:  # its temporary name must fit too
            raise StoreError(
                "A record name is too long to store.",
                hint="Use a shorter connection name or client id.",
            )
        return self.path / namespace / name

    # -- locking --
    @contextmanager
    def lock(self, namespace: str, key: str) -> Iterator[None]:
        check_names(namespace, key)

        def lock_file() -> Path:
            self._ensure_dir(self.path / namespace)
            return self._file(namespace, key, ".lock")

        with self._locks.hold(
            (namespace, key), lock_file, f"the lock on record {namespace}/{key} in {self.path}"
        ):
            yield

    # -- reading --
    def get(self, namespace: str, key: str) -> StoreRecord | None:
        check_names(namespace, key)
        path = self._file(namespace, key)
        try:
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(
                f"Cannot read the secret store file {path} ({exc.strerror}).",
                hint="Check the file's owner and permissions (it should be yours, mode 0600).",
            ) from None
        try:
            check_private(fd, path)
            with os.fdopen(os.dup(fd), "rb") as handle:
                data = handle.read()
        finally:
            os.close(fd)
        return self._decrypt(path, namespace, key, data)

    def _corrupt(self, path: Path, what: str) -> StoreError:
        return StoreError(
            f"The secret store file {path} {what}. It was left untouched.",
            hint="Restore it from a backup, or move it aside and sign in (or save the secret) "
            "again for that connection.",
        )

    def _decrypt(self, path: Path, namespace: str, key: str, data: bytes) -> StoreRecord:
        try:
            envelope = json.loads(data)
            if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
                raise ValueError
            schema, kid, token = envelope["schema"], envelope.get("kid"), envelope["data"]
        except (ValueError, KeyError, TypeError):
            raise self._corrupt(path, "is damaged (not a jupyter-dbx-auth store record)") from None
        if not isinstance(schema, int) or schema > SCHEMA_VERSION:
            raise StoreError(
                f"The secret store file {path} has schema version {schema!r}; this version of "
                f"jupyter-dbx-auth reads up to {SCHEMA_VERSION}. It was left untouched.",
                hint="Upgrade jupyter-dbx-auth, or use a separate store path for the older one.",
            )
        try:
            plain = self._fernet.decrypt(str(token).encode())
        except InvalidToken:
            if kid not in self._kids:
                raise StoreError(
                    f"The secret store file {path} was encrypted with a key that is not "
                    f"configured (key id {kid}; configured: {', '.join(self._kids)}). "
                    "It was left untouched.",
                    hint=f"Add the old key to {_keys.ENV_VAR} after the new one "
                    "(';'-separated), or move the file aside and sign in again.",
                ) from None
            raise self._corrupt(path, "failed its integrity check (damaged or edited)") from None
        try:
            inner = load_record(plain)
            record = inner["record"]
            if (inner["namespace"], inner["key"]) != (namespace, key) or not isinstance(
                record, dict
            ):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise self._corrupt(path, "holds another record (renamed or copied?)") from None
        return record

    def keys(self, namespace: str) -> list[str]:
        check_names(namespace)
        try:
            names = os.listdir(self.path / namespace)
        except FileNotFoundError:
            return []
        return sorted(decode_name(n[: -len(SUFFIX)]) for n in names if n.endswith(SUFFIX))

    # -- writing --
    def _seal(self, namespace: str, key: str, record: StoreRecord) -> bytes:
        inner = dump_record(record, namespace=namespace, key=key)
        token = self._fernet.encrypt(inner.encode()).decode()
        envelope = {"format": FORMAT, "schema": SCHEMA_VERSION, "kid": self._kids[0], "data": token}
        return json.dumps(envelope).encode() + b"\n"

    def put(self, namespace: str, key: str, record: StoreRecord) -> None:
        check_names(namespace, key)
        blob = self._seal(namespace, key, record)  # before the lock: encryption needs no lock
        with self.lock(namespace, key):
            self._write(self._file(namespace, key), blob)

    def _write(self, path: Path, blob: bytes) -> None:
        self._remove_stale_temps(path)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
            try:
                view = memoryview(blob)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)  # the data is on disk before the name points at it
            finally:
                os.close(fd)
            os.replace(tmp, path)
            fsync_dir(path.parent)  # and the new name survives a power cut
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise StoreError(
                f"Cannot write the secret store file {path} ({exc.strerror}).",
                hint="Check free disk space and the store directory's permissions.",
            ) from None

    @staticmethod
    def _remove_stale_temps(path: Path) -> None:
        # Writers hold the record's lock, so a temp file of this record seen under the lock was left
        # by a writer that died (kill -9, power cut). It holds ciphertext only; tidy it away.
        prefix = f".{path.name}."
        for name in os.listdir(path.parent):
            if name.startswith(prefix) and name.endswith(".tmp"):
                (path.parent / name).unlink(missing_ok=True)

    def delete(self, namespace: str, key: str) -> bool:
        check_names(namespace, key)
        path = self._file(namespace, key)
        if not path.exists():
            # No lock (and so no lock file, no remembered lock) for a record that does not exist:
            # deleting made-up names must not leave one file per request (security finding 6).
            return False
        with self.lock(namespace, key):
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            fsync_dir(path.parent)
            return True

    def rotate(self) -> int:
        """Re-encrypt every record with the first key; returns how many files were rewritten."""
        count = 0
        for namespace in sorted(os.listdir(self.path)):
            if not (self.path / namespace).is_dir() or namespace.startswith("."):
                continue
            for key in self.keys(namespace):
                with self.lock(namespace, key):
                    record = self.get(namespace, key)
                    if record is not None:
                        self._write(self._file(namespace, key), self._seal(namespace, key, record))
                        count += 1
        return count

    def __repr__(self) -> str:
        return f"<EncryptedFileStore path={str(self.path)!r} key_ids={self._kids!r}>"
