"""The hub token service's secret store: encrypted records in a SQL database (SQLAlchemy 2).

SQLite by default, a PostgreSQL URL in production (JupyterHub's own convention for `db_url`).
One table, one row per record, keyed by owner (a hub user, or a hub group for the admin's service
principals) and by the `SecretStore` namespace and key. `HubStore.for_user(name)` and
`HubStore.for_group(name)` are `SecretStore`s confined to one owner: whatever runs for alice is
handed alice's view and cannot name bob's records.

Only names and times are plain columns (the admin page lists who is signed in to what, and since
when, without decrypting). The record itself is Fernet/MultiFernet ciphertext whose plaintext
names its owner, namespace and key, so a row copied onto another owner is refused, not used.
Keys come from `JUPYTER_DBX_AUTH_CRYPT_KEY` (`;`-separated, newest first, as JUPYTERHUB_CRYPT_KEY);
there is no generated-key fallback here: a shared service must be given its key.

Writes are single upserts, so a reader sees the old record or the new one; a process killed
mid-write leaves the last committed record (the database's journal). Locks: see `_locks`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    make_url,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from ..core.errors import StoreError
from ..core.store import _keys
from ..core.store._records import check_names, dump_record, load_record
from ..core.store.base import SecretStore, StoreRecord
from . import _locks

OwnerKind = Literal["user", "group"]
OWNER_KINDS: tuple[str, ...] = ("user", "group")
SCHEMA_VERSION = 1
DEFAULT_URL = "sqlite:///jupyter_dbx_hub.sqlite"
_MAX_OWNER = 255

metadata = MetaData()
records = Table(
    "dbx_auth_records",
    metadata,
    Column("owner_kind", String(16), primary_key=True),
    Column("owner", String(_MAX_OWNER), primary_key=True),
    Column("namespace", String(64), primary_key=True),
    Column("key", String(512), primary_key=True),
    Column("schema", Integer, nullable=False),
    Column("kid", String(16), nullable=False),
    Column("data", Text, nullable=False),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
)
lock_rows = Table(
    "dbx_auth_locks",
    metadata,
    Column("owner_kind", String(16), primary_key=True),
    Column("owner", String(_MAX_OWNER), primary_key=True),
    Column("namespace", String(64), primary_key=True),
    Column("key", String(512), primary_key=True),
)


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (SQLAlchemy's own default driver is psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # WAL: readers never wait for the writer. FULL: a committed rotation survives a power cut.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


class HubStore:
    """The database: engine, keys and locks shared by every owner's view."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        key: _keys.KeySpec | None = None,
        *,
        lock_timeout: float = 60,
        create: bool = True,
        engine_options: dict[str, Any] | None = None,
    ) -> None:
        if key is None:
            key = os.environ.get(_keys.ENV_VAR, "")
            if not str(key).strip():
                raise StoreError(
                    f"The hub token service needs an encryption key for its store: "
                    f"{_keys.ENV_VAR} is not set.",
                    hint=_keys.KEY_HINT,
                )
        keys = _keys.parse_keys(key, source=_keys.ENV_VAR)
        self._newest_key = keys[0]
        self._kids = [_keys.key_id(k) for k in keys]
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self.url = make_url(normalise_url(url))
        self.safe_url = self.url.render_as_string(hide_password=True)
        self.lock_timeout = lock_timeout
        # E.g. pool_size / max_overflow: every refresh in progress holds one connection for its
        # lock (PostgreSQL) while it talks to Databricks.
        self.engine = self._engine(engine_options or {})
        if create:
            with self._db("create the tables"):
                metadata.create_all(self.engine)
        self._locks = _locks.RecordLocks(self._outer_lock())

    def derived_secret(self, purpose: str) -> bytes:
        """A secret for `purpose` derived from the newest store key (HMAC-SHA256): the same in
        every replica and after a restart, and never the key itself."""
        return hmac.new(self._newest_key, purpose.encode(), hashlib.sha256).digest()

    # -- set-up --
    def _engine(self, extra: dict[str, Any]) -> Engine:
        # hide_parameters: SQLAlchemy errors would otherwise quote the bound values.
        options: dict[str, Any] = {**extra, "hide_parameters": True, "pool_pre_ping": True}
        if self.url.get_backend_name() == "sqlite":
            path = self.sqlite_path
            if path is not None:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                # Create it 0600 before SQLite does (SQLite copies the mode to its -wal/-shm).
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
                os.chmod(path, 0o600)
            options["connect_args"] = {"timeout": self.lock_timeout}
            engine = create_engine(self.url, **options)
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(self.url, **options)

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or None for another database or an in-memory SQLite."""
        if self.url.get_backend_name() != "sqlite":
            return None
        database = self.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return Path(database).expanduser().absolute()

    def _outer_lock(self) -> Any:
        backend = self.url.get_backend_name()
        if backend == "postgresql":
            return _locks.row_locks(self.engine, lock_rows, self.lock_timeout)
        path = self.sqlite_path
        if backend == "sqlite" and path is None:
            return _locks.thread_only
        if backend == "sqlite" and path is not None:
            return _locks.file_locks(path.with_name(path.name + ".locks"), self.lock_timeout)
        raise StoreError(
            f"The hub secret store supports SQLite and PostgreSQL, not {backend}.",
            hint="Use a sqlite:/// or postgresql:// database URL.",
        )

    @contextmanager
    def _db(self, what: str) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None) or exc
            raise StoreError(
                f"The hub secret store database {self.safe_url} failed to {what} "
                f"({type(orig).__name__}).",
                hint="Check that the database is up, reachable and writable by the service.",
            ) from None

    # -- owners --
    def for_user(self, name: str) -> OwnerStore:
        return OwnerStore(self, "user", name)

    def for_group(self, name: str) -> OwnerStore:
        return OwnerStore(self, "group", name)

    def owners(self, kind: OwnerKind) -> list[str]:
        """Owners of that kind with at least one record, sorted."""
        _check_owner(kind)
        query = select(records.c.owner).where(records.c.owner_kind == kind).distinct()
        with self._db("list owners"), self.engine.connect() as conn:
            return sorted(conn.scalars(query))

    def listing(self, kind: OwnerKind | None = None) -> list[dict[str, Any]]:
        """Names and times of every record (for the admin page); never decrypts anything."""
        query = select(
            records.c.owner_kind,
            records.c.owner,
            records.c.namespace,
            records.c.key,
            records.c.created,
            records.c.updated,
        )
        if kind is not None:
            _check_owner(kind)
            query = query.where(records.c.owner_kind == kind)
        with self._db("list records"), self.engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
        return sorted(rows, key=lambda r: (r["owner_kind"], r["owner"], r["namespace"], r["key"]))

    # -- records --
    def _where(self, kind: str, owner: str, namespace: str, key: str | None = None) -> Any:
        clause = (
            (records.c.owner_kind == kind)
            & (records.c.owner == owner)
            & (records.c.namespace == namespace)
        )
        return clause if key is None else clause & (records.c.key == key)

    def get(self, kind: str, owner: str, namespace: str, key: str) -> StoreRecord | None:
        query = select(records.c.schema, records.c.kid, records.c.data).where(
            self._where(kind, owner, namespace, key)
        )
        with self._db("read a record"), self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return self._decrypt((kind, owner, namespace, key), row.schema, row.kid, row.data)

    def put(self, kind: str, owner: str, namespace: str, key: str, record: StoreRecord) -> None:
        inner = dump_record(record, owner=[kind, owner], namespace=namespace, key=key)
        data = self._fernet.encrypt(inner.encode()).decode()
        now = time.time()
        values = {
            "owner_kind": kind,
            "owner": owner,
            "namespace": namespace,
            "key": key,
            "schema": SCHEMA_VERSION,
            "kid": self._kids[0],
            "data": data,
            "created": now,
            "updated": now,
        }
        if self.url.get_backend_name() == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(records).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=list(records.primary_key.columns),
            set_={"schema": SCHEMA_VERSION, "kid": self._kids[0], "data": data, "updated": now},
        )
        with self._lock((kind, owner, namespace, key)), self._db("write a record"):
            with self.engine.begin() as conn:
                conn.execute(statement)

    def delete(self, kind: str, owner: str, namespace: str, key: str) -> bool:
        statement = delete(records).where(self._where(kind, owner, namespace, key))
        with self._lock((kind, owner, namespace, key)), self._db("delete a record"):
            with self.engine.begin() as conn:
                return conn.execute(statement).rowcount > 0

    def keys(self, kind: str, owner: str, namespace: str) -> list[str]:
        query = select(records.c.key).where(self._where(kind, owner, namespace))
        with self._db("list records"), self.engine.connect() as conn:
            return sorted(conn.scalars(query))

    def _lock(self, ident: _locks.Ident) -> Any:
        return self._locks.hold(ident)

    def lock(self, kind: str, owner: str, namespace: str, key: str) -> Any:
        return self._locks.hold((kind, owner, namespace, key))

    def _decrypt(self, ident: _locks.Ident, schema: int, kid: str, data: str) -> StoreRecord:
        where = f"record {ident[2]}/{ident[3]} of {ident[0]} {ident[1]!r} in {self.safe_url}"
        if schema > SCHEMA_VERSION:
            raise StoreError(
                f"The hub secret store {where} has schema version {schema}; this version reads "
                f"up to {SCHEMA_VERSION}. It was left untouched.",
                hint="Upgrade jupyter-dbx-auth on every hub token service replica.",
            )
        try:
            plain = self._fernet.decrypt(data.encode())
        except InvalidToken:
            if kid not in self._kids:
                raise StoreError(
                    f"The hub secret store {where} was encrypted with a key that is not "
                    f"configured (key id {kid}; configured: {', '.join(self._kids)}).",
                    hint=f"Add the old key to {_keys.ENV_VAR} after the new one (';'-separated).",
                ) from None
            raise StoreError(
                f"The hub secret store {where} failed its integrity check (damaged or edited).",
                hint="Delete that record and sign in (or save the secret) again.",
            ) from None
        try:
            inner = load_record(plain)
            record = inner["record"]
            if inner["owner"] != [ident[0], ident[1]] or (inner["namespace"], inner["key"]) != (
                ident[2],
                ident[3],
            ):
                raise ValueError
            if not isinstance(record, dict):
                raise ValueError
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            raise StoreError(
                f"The hub secret store {where} holds another record (copied between rows?).",
                hint="Delete that record and sign in (or save the secret) again.",
            ) from None
        return record

    def rotate(self) -> int:
        """Re-encrypt every record with the first key; returns how many rows were rewritten."""
        query = select(records.c.owner_kind, records.c.owner, records.c.namespace, records.c.key)
        with self._db("list records"), self.engine.connect() as conn:
            idents = [tuple(row) for row in conn.execute(query)]
        count = 0
        for kind, owner, namespace, key in idents:
            with self.lock(kind, owner, namespace, key):
                record = self.get(kind, owner, namespace, key)
                if record is not None:
                    self.put(kind, owner, namespace, key, record)
                    count += 1
        return count

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"<HubStore url={self.safe_url!r} key_ids={self._kids!r}>"


def _check_owner(kind: str, owner: str | None = None) -> None:
    if kind not in OWNER_KINDS:
        raise StoreError(f"Invalid owner kind {kind!r}.", hint="Use 'user' or 'group'.")
    if owner is None:
        return
    if not isinstance(owner, str) or not owner or len(owner) > _MAX_OWNER or "\x00" in owner:
        raise StoreError(
            f"Invalid hub {kind} name {owner!r:.80}.",
            hint=f"Hub {kind} names are non-empty, at most {_MAX_OWNER} characters.",
        )


class OwnerStore(SecretStore):
    """A `SecretStore` confined to one hub user's (or group's) records."""

    backend = "sql"

    def __init__(self, db: HubStore, kind: OwnerKind, owner: str) -> None:
        _check_owner(kind, owner)
        self.db, self.kind, self.owner = db, kind, owner

    def get(self, namespace: str, key: str) -> StoreRecord | None:
        check_names(namespace, key)
        return self.db.get(self.kind, self.owner, namespace, key)

    def put(self, namespace: str, key: str, record: StoreRecord) -> None:
        check_names(namespace, key)
        self.db.put(self.kind, self.owner, namespace, key, record)

    def delete(self, namespace: str, key: str) -> bool:
        check_names(namespace, key)
        return self.db.delete(self.kind, self.owner, namespace, key)

    def keys(self, namespace: str) -> list[str]:
        check_names(namespace)
        return self.db.keys(self.kind, self.owner, namespace)

    @contextmanager
    def lock(self, namespace: str, key: str) -> Iterator[None]:
        check_names(namespace, key)
        with self.db.lock(self.kind, self.owner, namespace, key):
            yield

    def __repr__(self) -> str:
        return f"<OwnerStore {self.kind}={self.owner!r} db={self.db.safe_url!r}>"
