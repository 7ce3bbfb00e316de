"""The secret store interface.

Records are small JSON objects keyed by (namespace, key), e.g. ("u2m", "<connection>") holding a
refresh token, or ("sp", "<connection>/<client id>") holding a service principal's secret and its
expiry. Record values are sensitive: never log a record, never put one in an exception message.

Backends: `KeyringStore` (OS keyring), `EncryptedFileStore` (Fernet/MultiFernet), `MemoryStore`.
All writes are atomic: a reader sees the old record or the new one, never a mix.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

#: A stored record. JSON-serialisable; values may include secrets (see module doc).
StoreRecord = dict[str, Any]


class SecretStore(abc.ABC):
    """Persistent, encrypted key/value store for refresh tokens and client secrets."""

    #: Short backend name shown in status ("keyring", "encrypted-file", "memory").
    backend: str = ""

    @abc.abstractmethod
    def get(self, namespace: str, key: str) -> StoreRecord | None:
        """The record, or None when absent."""

    @abc.abstractmethod
    def put(self, namespace: str, key: str, record: StoreRecord) -> None:
        """Create or replace atomically."""

    @abc.abstractmethod
    def delete(self, namespace: str, key: str) -> bool:
        """Remove; True if something was removed."""

    @abc.abstractmethod
    def keys(self, namespace: str) -> list[str]:
        """Keys present in a namespace, sorted."""

    @abc.abstractmethod
    def lock(self, namespace: str, key: str) -> AbstractContextManager[None]:
        """A lock held across processes of the same user (and threads of this one).

        Refreshing a single-use refresh token happens inside this lock: read the record, refresh,
        write the rotated token, release. A second process that waited then reads the new token.
        """

    def update(
        self,
        namespace: str,
        key: str,
        change: Callable[[StoreRecord | None], StoreRecord | None],
    ) -> StoreRecord | None:
        """Read-modify-write under `lock`; `change` returning None deletes the record."""
        with self.lock(namespace, key):
            new = change(self.get(namespace, key))
            if new is None:
                self.delete(namespace, key)
            else:
                self.put(namespace, key, new)
            return new

    def warnings(self) -> list[str]:
        """Human-readable warnings about this store (e.g. a generated key kept next to the data)."""
        return []

    def items(self, namespace: str) -> Iterator[tuple[str, StoreRecord]]:
        for key in self.keys(namespace):
            record = self.get(namespace, key)
            if record is not None:
                yield key, record

    def __repr__(self) -> str:
        return f"<{type(self).__name__} backend={self.backend!r}>"
