"""Audit log: one JSON line per login, refresh, failure, logout, secret added or removed.

    {"time": "2026-11-02T10:15:03.123Z", "event": "refresh", "connection": "emu",
     "identity": "alice@example.com", "outcome": "ok", "detail": {...}}

Entries are for people answering "who used which connection when", so they must never become a
place where tokens pile up: every value passes `scrub()`, which strips anything that looks like a
credential (a `Secret`, a JWT, a Databricks token, a bearer header, a long opaque string, any
string under a key named like *token*/*secret*/*password*) and the entry says how many values were
stripped. Identifier fields (`IDENTIFIER_FIELDS`: who and what an entry is about) skip only the
long-opaque-run guess: a Jupyter user without a name is a 32-hex id, which that guess would take for
a token, and an entry without its user answers nothing; real credential shapes are still stripped.
A warning is logged only when something was stripped. The file is 0600, rotated by size (`path`,
`path.1` ... `path.<backups>`), and written under a file lock so that two Jupyter servers of one
user can share it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock

from .secret import Secret
from .store._keys import check_private

log = logging.getLogger(__name__)

#: The events the rest of the package records; `record` accepts other snake_case names too.
EVENTS = frozenset({"login", "refresh", "failure", "logout", "secret_added", "secret_removed"})
REDACTED = "[redacted]"
_EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

_SENSITIVE_KEY = re.compile(
    r"token|secret|passw|credential|authori[sz]ation|api[_-]?key|private[_-]?key|assertion|"
    r"verifier|cookie|bearer",
    re.IGNORECASE,
)
_PATTERNS = [
    re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),  # JWT (JWS compact)
    re.compile(r"\b(?:dapi|dose|doau|dkea)[A-Za-z0-9_-]{8,}"),  # Databricks PAT / OAuth secrets
    re.compile(r"(?i)\bbearer\s+\S+"),
    re.compile(r"(?i)\bbasic\s+[A-Za-z0-9+/=]{8,}"),
]
# Long opaque runs (refresh tokens are opaque). UUIDs (client ids, account ids) are not secrets.
_OPAQUE = re.compile(r"[A-Za-z0-9_~-]{32,}")
#: Fields naming who or what an entry is about; see the module docstring.
IDENTIFIER_FIELDS = frozenset({"user", "connection", "identity", "client_id"})
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _scrub_text(text: str, guess: bool = True) -> tuple[str, int]:
    count = 0
    for pattern in _PATTERNS:
        text, n = pattern.subn(REDACTED, text)
        count += n
    if not guess:
        return text, count

    def opaque(match: re.Match[str]) -> str:
        nonlocal count
        run = match.group(0)
        if _UUID.fullmatch(run) or not (re.search(r"\d", run) and re.search(r"[A-Za-z]", run)):
            return run
        count += 1
        return REDACTED

    return _OPAQUE.sub(opaque, text), count


def scrub(value: Any, *, field: str | None = None, guess: bool = True) -> tuple[Any, int]:
    """A copy of `value` safe to write, and how many parts of it were redacted.

    `guess=False` leaves long opaque runs alone: what is left is only what surely is a secret
    (a `Secret`, a sensitive key, a JWT, a Databricks token, an Authorization value)."""
    if isinstance(value, Secret):
        return REDACTED, 1
    if value is None or isinstance(value, (bool, int, float)):
        return value, 0  # counts, durations, expiries: fine even under a key named "token_*"
    if field is not None and _SENSITIVE_KEY.search(field):
        return REDACTED, 1
    if isinstance(value, str):
        return _scrub_text(value, guess and field not in IDENTIFIER_FIELDS)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        total = 0
        for key, item in value.items():
            name, n_key = _scrub_text(str(key), guess)
            out[name], n = scrub(item, field=name, guess=guess)
            total += n + n_key
        return out, total
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [scrub(item, field=field, guess=guess) for item in value]
        return [v for v, _ in items], sum(n for _, n in items)
    # Unknown objects: their repr is not ours to trust, so only the type name is written.
    return f"<{type(value).__name__}>", 0


def default_audit_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_log_dir("jupyter-dbx-auth")) / "audit.log"


class AuditLog:
    """Append-only JSON lines with size-based rotation."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_bytes: int = 5 * 1024 * 1024,
        backups: int = 5,
    ) -> None:
        self.path = Path(path) if path is not None else default_audit_path()
        self.max_bytes = max_bytes
        self.backups = backups
        self._thread_lock = threading.Lock()
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._file_lock = FileLock(
            self.path.with_name(self.path.name + ".lock"), mode=0o600, thread_local=False
        )

    def record(
        self,
        event: str,
        connection: str | None = None,
        *,
        identity: str | None = None,
        outcome: str = "ok",
        detail: dict[str, Any] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Write one entry (scrubbed) and return it as written.

        `event` is one of `EVENTS` or another snake_case name (callers may be more specific, e.g.
        "login_started"); extra keyword `fields` (user=..., client_id=...) join `detail`.
        """
        if not _EVENT_NAME.match(event):
            raise ValueError(f"invalid audit event name {event!r}; use snake_case, e.g. 'login'")
        if fields:
            detail = {**(detail or {}), **fields}
        entry: dict[str, Any] = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z",
            "event": event,
        }
        redacted = sure = 0
        for name, value in (
            ("connection", connection),
            ("identity", identity),
            ("outcome", outcome),
            ("detail", detail),
        ):
            if value is not None:
                entry[name], n = scrub(value, field=name)
                redacted += n
                sure += scrub(value, guess=False)[1] if n else 0
        if redacted:
            entry["redacted"] = redacted
            # A long opaque run is only a guess (Jupyter's random user names are such runs): the
            # entry is scrubbed either way, but the log warns only when a secret surely was there.
            log.log(
                logging.WARNING if sure else logging.DEBUG,
                "Audit: stripped %d secret-looking value(s) from a %r entry for %r.",
                redacted,
                event,
                entry.get("connection"),
            )
        self._append((json.dumps(entry, ensure_ascii=False) + "\n").encode())
        return entry

    def _append(self, line: bytes) -> None:
        # Open per entry (entries are rare: logins, hourly refreshes): no descriptor to go stale
        # when another process rotates the file, and the lock keeps rotation and appends apart.
        with self._thread_lock, self._file_lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                check_private(fd, self.path)
                size = os.fstat(fd).st_size
                if size and size + len(line) > self.max_bytes:
                    os.close(fd)
                    fd = -1
                    self._rotate()
                    fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                os.write(fd, line)
            finally:
                if fd >= 0:
                    os.close(fd)

    def _rotate(self) -> None:
        if self.backups <= 0:
            self.path.unlink(missing_ok=True)
            return
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))

    def __repr__(self) -> str:
        return f"<AuditLog path={str(self.path)!r}>"
