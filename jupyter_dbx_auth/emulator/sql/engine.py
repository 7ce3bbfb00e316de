"""DuckDB behind the warehouse: one in-memory database per emulator, one cursor per session.

The demo catalog imitates the `samples.nyctaxi.trips` table every Databricks workspace has (same
column names and types), filled with TRIP_ROWS generated rows. The values come from a fixed
formula over the row number, so every run (and every test) sees the same data.

`current_user()` and `session_user()` (braces optional, as in Databricks) are per-session macros
returning the session owner: the user name of a user, the application id of a service principal.
"""

from __future__ import annotations

import re
from typing import Any

TRIP_ROWS = 5000

# Pickup times spread over January 2016 (the real sample's period); distances 0.3-20 miles; fares
# from a base fare plus a per-mile rate; zip codes from the real table's New York range.
_TRIPS = f"""
CREATE TABLE samples.nyctaxi.trips AS
SELECT
    TIMESTAMP '2016-01-01 00:00:00' + to_seconds((i * 523) % (31 * 86400)) AS tpep_pickup_datetime,
    TIMESTAMP '2016-01-01 00:00:00' + to_seconds((i * 523) % (31 * 86400) + 240 + (i * 37) % 2400)
        AS tpep_dropoff_datetime,
    round(0.3 + ((i * 7919) % 1970) / 100.0, 2) AS trip_distance,
    round(2.5 + 2.5 * (0.3 + ((i * 7919) % 1970) / 100.0) + (i % 7) * 0.5, 2) AS fare_amount,
    CAST(10001 + (i * 13) % 280 AS INTEGER) AS pickup_zip,
    CAST(10001 + (i * 29) % 280 AS INTEGER) AS dropoff_zip
FROM range({TRIP_ROWS}) AS r(i)
"""  # noqa: S608 - a constant, no input


# Databricks accepts `current_user` without braces; DuckDB would read it as its own keyword
# (answering "duckdb"). Rewritten outside quotes only roughly: a name inside a string literal is
# rewritten too, which no test or demo query does.
_WHO = re.compile(r"\b(current_user|session_user)\b(?!\s*\()", re.IGNORECASE)


class SqlError(Exception):
    """A statement DuckDB refused: shown to the client as the operation's error."""

    def __init__(self, message: str, sql_state: str = "42000") -> None:
        super().__init__(message)
        self.message = message
        self.sql_state = sql_state


class Engine:
    def __init__(self) -> None:
        import duckdb

        self._duckdb = duckdb
        self._db = duckdb.connect(":memory:")
        self._db.execute("ATTACH ':memory:' AS samples")
        self._db.execute("CREATE SCHEMA samples.nyctaxi")
        self._db.execute(_TRIPS)

    def session(self, principal_name: str) -> Any:
        """A cursor of its own (temporary objects, current catalog) for one Thrift session."""
        cursor = self._db.cursor()
        quoted = principal_name.replace("'", "''")
        for name in ("current_user", "session_user"):
            cursor.execute(f"CREATE TEMP MACRO {name}() AS '{quoted}'")
        return cursor

    def use(self, cursor: Any, catalog: str | None, schema: str | None) -> None:
        target = ".".join(_ident(p) for p in (catalog, schema) if p)
        if target:
            self.run(cursor, f"USE {target}")

    def run(self, cursor: Any, statement: str) -> Any:
        """The statement's result as a pyarrow Table (an empty one for statements without rows)."""
        import pyarrow

        try:
            relation = cursor.sql(_WHO.sub(r"\1()", statement))
            if relation is None:
                return pyarrow.table({})
            return relation.to_arrow_table()
        except self._duckdb.ParserException as exc:
            raise SqlError(f"[PARSE_SYNTAX_ERROR] {exc}", "42601") from None
        except self._duckdb.CatalogException as exc:
            raise SqlError(f"[TABLE_OR_VIEW_NOT_FOUND] {exc}", "42P01") from None
        except self._duckdb.Error as exc:
            raise SqlError(str(exc)) from None

    def close(self, cursor: Any) -> None:
        cursor.close()


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
