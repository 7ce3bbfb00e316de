"""Locks held across the threads of this process and across processes of the same user.

One `FileLock` per name, created on first use. The thread lock comes first so that only one thread
of this process touches the file lock; the FileLock's own counter then makes the pair re-entrant
(`update()` holds the lock and calls `put()`, which takes it again).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import StoreError


class ProcessLocks:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._guard = threading.Lock()
        self._thread_locks: dict[Hashable, threading.RLock] = {}
        self._file_locks: dict[Hashable, FileLock] = {}

    @contextmanager
    def hold(self, name: Hashable, lock_file: Callable[[], Path], what: str) -> Iterator[None]:
        """Hold `name`'s lock; `lock_file()` makes its path (and directory) on first use; `what`
        names the lock in the timeout error."""
        with self._guard:
            thread_lock = self._thread_locks.setdefault(name, threading.RLock())
        with thread_lock:
            file_lock = self._file_locks.get(name)
            if file_lock is None:
                file_lock = FileLock(
                    lock_file(), timeout=self.timeout, mode=0o600, thread_local=False
                )
                self._file_locks[name] = file_lock
            try:
                file_lock.acquire()
            except Timeout:
                raise StoreError(
                    f"Timed out after {self.timeout:g} s waiting for {what}.",
                    hint="Another Jupyter server of yours may be stuck; stop it and try again.",
                ) from None
            try:
                yield
            finally:
                file_lock.release()
