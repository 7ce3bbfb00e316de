"""The SQL store against the `SecretStore` contract, on SQLite and on a real PostgreSQL 15."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Iterator

import pytest
from hub_keys import STORE_KEY

from jupyter_dbx_auth.core.errors import StoreError
from jupyter_dbx_auth.core.secret import Secret
from jupyter_dbx_auth.hub.store import HubStore, OwnerStore, normalise_url


@pytest.fixture
def db(db_url: str) -> Iterator[HubStore]:
    hub = HubStore(db_url, key=STORE_KEY, lock_timeout=20)
    yield hub
    hub.close()


@pytest.fixture
def store(db: HubStore) -> OwnerStore:
    return db.for_user("alice")


def test_round_trip(store: OwnerStore) -> None:
    assert store.get("u2m", "emu") is None
    record = {"refresh_token": "rt-1", "host": "https://h", "n": 3, "nested": {"a": [1, None]}}
    store.put("u2m", "emu", record)
    assert store.get("u2m", "emu") == record
    store.put("u2m", "emu", {"refresh_token": "rt-2"})
    assert store.get("u2m", "emu") == {"refresh_token": "rt-2"}
    assert store.keys("u2m") == ["emu"]
    assert store.keys("sp") == []
    assert dict(store.items("u2m")) == {"emu": {"refresh_token": "rt-2"}}
    assert store.delete("u2m", "emu") is True
    assert store.delete("u2m", "emu") is False
    assert store.get("u2m", "emu") is None


def test_secret_values_and_odd_names(store: OwnerStore) -> None:
    store.put("sp", "emu/abc", {"client_secret": Secret("s3cr3t")})
    assert store.get("sp", "emu/abc") == {"client_secret": "s3cr3t"}
    names = ["Emu", "emu", "a/b", ".", "..", "ünï côdé", "x%41", "https://h.example.com/oidc"]
    for i, name in enumerate(names):
        store.put("u2m", name, {"i": i})
    assert store.keys("u2m") == sorted(names)
    assert [store.get("u2m", n) for n in names] == [{"i": i} for i in range(len(names))]


@pytest.mark.parametrize("namespace,key", [("U2M", "k"), ("a/b", "k"), ("u2m", ""), ("", "k")])
def test_bad_names(store: OwnerStore, namespace: str, key: str) -> None:
    with pytest.raises(StoreError):
        store.put(namespace, key, {})


def test_bad_records_and_owners(db: HubStore) -> None:
    with pytest.raises(StoreError, match="JSON"):
        db.for_user("alice").put("u2m", "k", {"x": object()})
    for bad in ("", "x" * 300, "a\x00b"):
        with pytest.raises(StoreError, match="hub user name"):
            db.for_user(bad)


def test_owners_are_isolated(db: HubStore) -> None:
    alice, bob, team = db.for_user("alice"), db.for_user("bob"), db.for_group("alice")
    alice.put("u2m", "emu", {"refresh_token": "alice-rt"})
    team.put("sp", "emu/etl", {"client_secret": "team-secret"})
    assert bob.get("u2m", "emu") is None and bob.keys("u2m") == []
    assert team.get("u2m", "emu") is None  # a group named like a user shares nothing with her
    assert alice.get("sp", "emu/etl") is None
    assert bob.delete("u2m", "emu") is False
    assert alice.get("u2m", "emu") == {"refresh_token": "alice-rt"}
    assert db.owners("user") == ["alice"] and db.owners("group") == ["alice"]
    listing = db.listing()
    assert [(r["owner_kind"], r["owner"], r["namespace"], r["key"]) for r in listing] == [
        ("group", "alice", "sp", "emu/etl"),
        ("user", "alice", "u2m", "emu"),
    ]
    assert all(r["created"] <= r["updated"] <= time.time() for r in listing)
    assert "alice-rt" not in repr(listing)


def test_row_copied_to_another_owner_is_refused(db: HubStore) -> None:
    from sqlalchemy import select, update

    from jupyter_dbx_auth.hub.store import records

    db.for_user("alice").put("u2m", "emu", {"refresh_token": "alice-rt"})
    db.for_user("bob").put("u2m", "emu", {"refresh_token": "bob-rt"})
    with db.engine.begin() as conn:
        alice_data = conn.execute(select(records.c.data).where(records.c.owner == "alice")).scalar()
        conn.execute(update(records).where(records.c.owner == "bob").values(data=alice_data))
    with pytest.raises(StoreError, match="holds another record"):
        db.for_user("bob").get("u2m", "emu")


def test_keys_rotate_and_unknown_key_is_explained(db_url: str) -> None:
    old, new = "11" * 32, "22" * 32
    first = HubStore(db_url, key=old)
    first.for_user("alice").put("u2m", "emu", {"refresh_token": "rt"})
    first.close()
    with pytest.raises(StoreError, match="key that is not configured") as info:
        HubStore(db_url, key=new).for_user("alice").get("u2m", "emu")
    assert old not in str(info.value) and new not in str(info.value)
    both = HubStore(db_url, key=f"{new};{old}")
    assert both.for_user("alice").get("u2m", "emu") == {"refresh_token": "rt"}
    assert both.rotate() == 1
    both.close()
    assert HubStore(db_url, key=new).for_user("alice").get("u2m", "emu") == {"refresh_token": "rt"}


def test_key_is_required(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUPYTER_DBX_AUTH_CRYPT_KEY", raising=False)
    with pytest.raises(StoreError, match="JUPYTER_DBX_AUTH_CRYPT_KEY is not set"):
        HubStore(db_url)
    monkeypatch.setenv("JUPYTER_DBX_AUTH_CRYPT_KEY", f"{'aa' * 32};")
    HubStore(db_url).close()


def test_threads_do_not_lose_updates(store: OwnerStore) -> None:
    def bump() -> None:
        for _ in range(15):
            store.update("u2m", "counter", lambda r: {"n": (r or {"n": 0})["n"] + 1})

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("u2m", "counter") == {"n": 60}


def test_lock_is_reentrant_and_per_record(db: HubStore) -> None:
    store = db.for_user("alice")
    with store.lock("u2m", "k"), store.lock("u2m", "k"):
        store.put("u2m", "k", {"n": 1})
        # Another record (and another user's same record) is not blocked by this lock.
        done = threading.Event()

        def other() -> None:
            db.for_user("bob").put("u2m", "k", {"n": 2})
            store.put("u2m", "other", {"n": 3})
            done.set()

        threading.Thread(target=other).start()
        assert done.wait(15)
    assert store.get("u2m", "k") == {"n": 1}


def test_lock_blocks_other_threads_until_released(store: OwnerStore) -> None:
    order: list[str] = []
    with store.lock("u2m", "k"):
        waiter = threading.Thread(
            target=lambda: (store.update("u2m", "k", lambda r: {"n": 2}), order.append("waiter"))
        )
        waiter.start()
        time.sleep(0.3)
        order.append("holder")
        store.put("u2m", "k", {"n": 1})
    waiter.join(15)
    assert order == ["holder", "waiter"]
    assert store.get("u2m", "k") == {"n": 2}


def test_lock_is_held_across_store_instances_and_times_out(db_url: str) -> None:
    # Two HubStore objects share no thread locks: only the database-level lock (a file lock on
    # SQLite, SELECT ... FOR UPDATE on PostgreSQL) stands between them, as between processes.
    first = HubStore(db_url, key=STORE_KEY, lock_timeout=0.5)
    second = HubStore(db_url, key=STORE_KEY, lock_timeout=0.5)
    with first.for_user("alice").lock("u2m", "emu"):
        started = time.monotonic()
        with pytest.raises(StoreError, match=r"Timed out after 0\.5 s"):
            with second.for_user("alice").lock("u2m", "emu"):
                pass
        assert time.monotonic() - started < 10
        with second.for_user("bob").lock("u2m", "emu"):  # another user's record: not blocked
            second.for_user("bob").put("u2m", "emu", {"n": 1})
    with second.for_user("alice").lock("u2m", "emu"):  # released with the first holder
        second.for_user("alice").put("u2m", "emu", {"n": 2})
    first.close()
    second.close()


def test_errors_name_the_database_without_its_password(pg_server) -> None:
    url = pg_server.url.replace(str(pg_server.port), "1")  # nothing listens on port 1
    with pytest.raises(StoreError) as info:
        HubStore(url, key=STORE_KEY)
    assert pg_server.password not in str(info.value)
    assert "127.0.0.1:1/dbx" in str(info.value)


def test_postgres_url_uses_psycopg3() -> None:
    assert normalise_url("postgresql://u:p@h/db").startswith("postgresql+psycopg://")
    assert normalise_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"


def test_canary_never_leaks(db: HubStore, db_url: str, caplog, pg_server_or_none) -> None:
    caplog.set_level(logging.DEBUG)
    canary = "CANARY-" + secrets.token_hex(16)
    store = db.for_user("alice")
    store.put("u2m", "emu", {"refresh_token": canary})
    db.for_group("data").put("sp", "emu/etl", {"client_secret": Secret(canary)})
    store.update("u2m", "emu", lambda r: {**(r or {}), "access": canary})
    assert store.get("u2m", "emu")["access"] == canary  # type: ignore[index]
    if db.sqlite_path is not None:
        raw = b"".join(p.read_bytes() for p in db.sqlite_path.parent.iterdir() if p.is_file())
        assert db.sqlite_path.stat().st_mode & 0o777 == 0o600
    else:
        raw = pg_server_or_none.dump()
        assert b"dbx_auth_records" in raw  # the dump did include our table
    assert canary.encode() not in raw
    assert b"alice" in raw  # names are plain (the admin page lists them), the values are not
    assert canary not in caplog.text and canary not in repr(db) and canary not in repr(store)


@pytest.fixture
def pg_server_or_none(request: pytest.FixtureRequest, db_url: str):
    return request.getfixturevalue("pg_server") if db_url.startswith("postgresql") else None
