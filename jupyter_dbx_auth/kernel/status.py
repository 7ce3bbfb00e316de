"""`%dbx_status`: one row per connection, as text and as an HTML table. No token, ever.
`%dbx_status NAME`: the SQL warehouses that connection can use, with their HTTP paths."""

from __future__ import annotations

import html
import time
from dataclasses import dataclass

from .backends import Backend, ConnectionInfo, current_backend

COLUMNS = ("connection", "identity", "method", "status", "token", "warnings")

#: The server's states in the words the sidebar uses.
STATUS_WORDS = {
    "ok": "signed in",
    "logged_out": "not signed in",
    "login_pending": "waiting for sign-in",
    "login_required": "sign-in expired",
    "refreshing": "refreshing",
    "error": "error",
}


def duration(seconds: float) -> str:
    """`59 min`, `1 h 5 min`, `< 1 min`: whole minutes (labextension: `formatDuration`)."""
    total = max(0, int(seconds))
    if total < 60:
        return "< 1 min"
    hours, minutes = divmod(total // 60, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def validity(expires_at: float | None, now: float | None = None) -> str:
    """The project's one time format, as the sidebar and status bar show it too:
    `valid 59 min (until 18:47)`, `expired at 18:47`, or empty when unknown."""
    if expires_at is None:
        return ""
    now = time.time() if now is None else now
    clock = time.strftime("%H:%M", time.localtime(expires_at))
    left = expires_at - now
    if left <= 0:
        return f"expired at {clock}"
    return f"valid {duration(left)} (until {clock})"


def _expiry(info: ConnectionInfo, now: float) -> str:
    return validity(info.expires_at, now)


def _row(info: ConnectionInfo, now: float) -> tuple[str, ...]:
    notes = list(info.warnings)
    if info.message and info.status not in ("ok",):
        notes.insert(0, info.message)
    return (
        info.name,
        info.identity or "",
        info.method + (" (account)" if info.account else ""),
        STATUS_WORDS.get(info.status, info.status),
        _expiry(info, now),
        "; ".join(notes),
    )


@dataclass(frozen=True)
class StatusTable:
    rows: tuple[tuple[str, ...], ...]
    via: str
    columns: tuple[str, ...] = COLUMNS
    empty: str = "No Databricks connections"

    def __repr__(self) -> str:
        if not self.rows:
            return f"{self.empty} ({self.via})."
        columns = self.columns
        widths = [max(len(r[i]) for r in (columns, *self.rows)) for i in range(len(columns))]

        def line(row: tuple[str, ...]) -> str:
            return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

        return "\n".join([line(columns), *(line(r) for r in self.rows), f"({self.via})"])

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
            for row in self.rows
        )
        return (
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f"<small>{html.escape(self.via)}</small>"
        )


def status_table(backend: Backend | None = None) -> StatusTable:
    backend = backend or current_backend()
    now = time.time()
    rows = tuple(_row(c, now) for c in backend.connections())
    via = "tokens from the Jupyter server" if backend.kind == "server" else "in-process, no server"
    return StatusTable(rows, via)


WAREHOUSE_COLUMNS = ("warehouse", "id", "state", "http path")


def warehouse_table(name: str, backend: Backend | None = None) -> StatusTable:
    """The SQL warehouses connection `name` can use (`GET /api/2.0/sql/warehouses`)."""
    from .sql import list_warehouses, warehouse_path
    from .tokens import TokenCache

    backend = backend or current_backend()
    info = backend.info(name)
    cache = TokenCache(backend.fetcher(info), label=info.name)
    rows = tuple(
        (w.name, w.id, w.state, warehouse_path(w.id)) for w in list_warehouses(cache, info.host)
    )
    via = f"SQL warehouses of {info.name} ({info.host}); %dbx_connect {info.name} --sql"
    return StatusTable(rows, via, WAREHOUSE_COLUMNS, "No SQL warehouses")
