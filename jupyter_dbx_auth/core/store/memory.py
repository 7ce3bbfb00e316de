"""In-process store for Binder, tests and `--no-persist` setups: nothing survives the process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..secret import Secret
from ._records import check_names, dump_record, load_record
from .base import SecretStore, StoreRecord


class MemoryStore(SecretStore):
    """Records kept as JSON text in a dict.

    Keeping JSON text rather than the caller's dict means a caller mutating a record after `put` (or
    the dict returned by `get`) cannot change what is stored, the same as the persistent backends,
    and non-JSON values fail here too instead of only in production. The text is wrapped in
    `Secret` so that even `vars(store)` in a debugger or a crash report shows no value.
    """

    backend = "memory"

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], Secret] = {}
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, str], threading.RLock] = {}

    def get(self, namespace: str, key: str) -> StoreRecord | None:
        check_names(namespace, key)
        text = self._data.get((namespace, key))
        return None if text is None else load_record(text.reveal())

    def put(self, namespace: str, key: str, record: StoreRecord) -> None:
        check_names(namespace, key)
        text = Secret(dump_record(record))
        with self._guard:
            self._data[(namespace, key)] = text

    def delete(self, namespace: str, key: str) -> bool:
        check_names(namespace, key)
        with self._guard:
            return self._data.pop((namespace, key), None) is not None

    def keys(self, namespace: str) -> list[str]:
        check_names(namespace)
        with self._guard:
            return sorted(k for ns, k in self._data if ns == namespace)

    @contextmanager
    def lock(self, namespace: str, key: str) -> Iterator[None]:
        check_names(namespace, key)
        with self._guard:
            # Re-entrant so that `update` (which locks) may call code that locks the same record.
            rlock = self._locks.setdefault((namespace, key), threading.RLock())
        with rlock:
            yield
