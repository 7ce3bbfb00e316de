"""Record locks for the SQL store: re-entrant in the owning thread, held across processes.

The cross-process part depends on the database:

- PostgreSQL: `SELECT ... FOR UPDATE` on the record's row in `dbx_auth_locks`, in a transaction on
  a connection kept for as long as the lock is held. Every hub service replica (any host) sees the
  same lock, a replica that dies releases it with its connection, and `lock_timeout` bounds the
  wait. The row is separate from the secret's own row so that the lock exists before the first
  write and survives a delete, and so that writes made under the lock commit at once (a rotated
  refresh token is durable as soon as `put` returns, not at release).
- SQLite: one file lock per record beside the database file. SQLite lives on one host, so a file
  lock reaches every process that can open the database. `BEGIN IMMEDIATE` would instead take the
  one database-wide write lock for the whole refresh (an HTTP round trip): every other user's
  refresh would queue behind it, and writes under the lock would have to share that one
  connection. A file lock keeps records independent and is released by the OS when a process dies.
- An in-memory SQLite database lives in one process: thread locks are enough.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, Table, and_, select, text
from sqlalchemy.exc import SQLAlchemyError

from ..core.errors import StoreError

#: (owner kind, owner, namespace, key): the name of one record.
Ident = tuple[str, str, str, str]

_HINT = "Another hub token service may be stuck on this record; restart it and try again."


class _Entry:
    __slots__ = ("depth", "rlock", "stack")

    def __init__(self) -> None:
        self.rlock = threading.RLock()
        self.depth = 0
        self.stack: ExitStack | None = None


class RecordLocks:
    """Per-record thread RLock plus a depth count: the outermost holder takes the process lock."""

    def __init__(self, outer: Callable[[Ident], AbstractContextManager[None]]) -> None:
        self._outer = outer
        self._guard = threading.Lock()
        self._entries: dict[Ident, _Entry] = {}

    @contextmanager
    def hold(self, ident: Ident) -> Iterator[None]:
        with self._guard:
            entry = self._entries.setdefault(ident, _Entry())
        with entry.rlock:
            if entry.depth == 0:
                stack = ExitStack()
                stack.enter_context(self._outer(ident))
                entry.stack = stack
            entry.depth += 1
            try:
                yield
            finally:
                entry.depth -= 1
                if entry.depth == 0 and entry.stack is not None:
                    stack, entry.stack = entry.stack, None
                    stack.close()


def thread_only(ident: Ident) -> AbstractContextManager[None]:
    return nullcontext()


def file_locks(directory: Path, timeout: float) -> Callable[[Ident], AbstractContextManager[None]]:
    """One lock file per record under `directory` (0700), named by a hash of the record's name."""

    @contextmanager
    def outer(ident: Ident) -> Iterator[None]:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        digest = hashlib.sha256("\x00".join(ident).encode()).hexdigest()[:40]
        lock = FileLock(directory / f"{digest}.lock", timeout=timeout, mode=0o600)
        try:
            lock.acquire()
        except Timeout:
            raise StoreError(
                f"Timed out after {timeout:g} s waiting for the lock on record "
                f"{ident[2]}/{ident[3]} of {ident[0]} {ident[1]!r}.",
                hint=_HINT,
            ) from None
        try:
            yield
        finally:
            lock.release()

    return outer


def row_locks(
    engine: Engine, table: Table, timeout: float
) -> Callable[[Ident], AbstractContextManager[None]]:
    """`SELECT ... FOR UPDATE` on the record's lock row, on a connection held for the lock."""
    from sqlalchemy.dialects.postgresql import insert

    columns = (table.c.owner_kind, table.c.owner, table.c.namespace, table.c.key)

    @contextmanager
    def outer(ident: Ident) -> Iterator[None]:
        where = and_(*(column == value for column, value in zip(columns, ident, strict=True)))
        values = dict(zip(("owner_kind", "owner", "namespace", "key"), ident, strict=True))
        try:
            conn = engine.connect()
        except SQLAlchemyError as exc:
            raise _db_error(exc) from None
        try:
            with conn.begin():
                conn.execute(insert(table).values(**values).on_conflict_do_nothing())
            trans = conn.begin()
            # SET LOCAL takes no bind parameters; the value is our own integer.
            conn.execute(text(f"SET LOCAL lock_timeout = {int(timeout * 1000)}"))
            conn.execute(select(table.c.key).where(where).with_for_update())
        except SQLAlchemyError as exc:
            conn.close()
            orig = getattr(exc, "orig", None)
            if getattr(orig, "sqlstate", None) == "55P03":  # lock_not_available
                raise StoreError(
                    f"Timed out after {timeout:g} s waiting for the lock on record "
                    f"{ident[2]}/{ident[3]} of {ident[0]} {ident[1]!r}.",
                    hint=_HINT,
                ) from None
            raise _db_error(exc) from None
        try:
            yield
        finally:
            try:
                trans.rollback()  # nothing was written in it: ending it releases the row lock
            finally:
                conn.close()

    return outer


def _db_error(exc: Exception) -> StoreError:
    # The class name only: driver messages can quote statements.
    orig = getattr(exc, "orig", exc)
    return StoreError(
        "The hub secret store database cannot be reached or refused a lock "
        f"({type(orig).__name__}).",
        hint="Check that the database is up and the service's database URL and credentials.",
    )
