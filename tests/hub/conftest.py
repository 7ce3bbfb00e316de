"""Hub fixtures: the store's databases, a SQLite file and a real PostgreSQL 15 (`postgres.py`).
Each hub test module starts its own JupyterHub once (`harness.py`)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import postgres
import pytest


@pytest.fixture(scope="session")
def pg_server() -> Iterator[postgres.Postgres]:
    if not postgres.available() and not os.environ.get("CI"):  # under CI, missing = failure
        pytest.skip(f"PostgreSQL server binaries not found under {postgres.PG_BIN}")
    with postgres.postgres_server() as server:
        yield server


def _empty_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS dbx_auth_records, dbx_auth_locks"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/hub/store.sqlite"
    server = request.getfixturevalue("pg_server")
    _empty_pg(server.url)
    return server.url
