"""databricks-sql-connector adapter: `credentials_provider` backed by the kernel's `TokenCache`,
the warehouse to connect to, and connector errors turned into ones that say what to do.

The connector (4.x, Thrift path) takes `credentials_provider`, a zero-argument callable that
returns a header factory; it calls the provider once per connection and the factory before every
HTTP request. It wraps every provider in `TokenFederationProvider`, which decodes the token as a
JWT and (a) keeps it until one minute before its `exp`, (b) tries an RFC 8693 exchange at the
warehouse host's `/oidc/v1/token` when the JWT's `iss` host differs from the warehouse host.
Workspace tokens are issued by the workspace itself (`iss` = `https://<workspace>/oidc`; the
emulator's likewise), so (b) does not trigger for them; (a) is why our cache margin (90 s) is
longer than the connector's minute: when it asks again, we already hold the next token.

    warehouse = resolve_warehouse(cache, host, "abc")      # or None: the only running one
    conn = sql_connect(cache, host, http_path=warehouse_path(warehouse.id))
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..core.errors import DbxAuthError
from .tokens import TokenCache

HeaderFactory = Callable[[], dict[str, str]]
RUNNING = "RUNNING"


class SqlWarehouseError(DbxAuthError):
    """The SQL warehouse could not be reached, refused us, or does not exist."""


class WarehouseUnreachable(SqlWarehouseError):
    """No HTTP answer from the workspace host at all."""


@dataclass(frozen=True)
class Warehouse:
    id: str
    name: str
    state: str

    def describe(self) -> str:
        return f"{self.name} ({self.id}, {self.state})"


def credentials_provider(cache: TokenCache) -> Callable[[], HeaderFactory]:
    """The connector's `credentials_provider`: returns the cache's header factory."""

    def provider() -> HeaderFactory:
        return cache.headers

    return provider


def warehouse_path(warehouse_id: str) -> str:
    return f"/sql/1.0/warehouses/{warehouse_id}"


# -- which warehouse -------------------------------------------------------------------------
def list_warehouses(cache: TokenCache, host: str) -> list[Warehouse]:
    """`GET /api/2.0/sql/warehouses` with the connection's token (what `w.warehouses.list()`
    calls, without importing the sdk). Raises SqlWarehouseError when the host is unreachable or
    refuses the token."""
    import httpx

    url = f"{host.rstrip('/')}/api/2.0/sql/warehouses"
    try:
        response = httpx.get(url, headers=cache.headers(), timeout=15)
    except httpx.HTTPError as exc:
        raise unreachable(host, exc) from None
    if response.status_code in (401, 403):
        raise refused(host, response.status_code, _api_message(response)) from None
    if response.status_code != 200:
        raise SqlWarehouseError(
            f"Listing the SQL warehouses of {host} failed: HTTP {response.status_code} "
            f"{_api_message(response)}".rstrip(),
            hint="Pass --warehouse ID (from the warehouse's Connection details) or --http-path.",
        )
    try:
        items = response.json().get("warehouses") or []
        return [
            Warehouse(str(w["id"]), str(w.get("name", w["id"])), str(w["state"])) for w in items
        ]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SqlWarehouseError(
            f"{host} answered the SQL warehouses list with something that is not one.",
            hint="Check that the host is a Databricks workspace URL.",
        ) from None


def resolve_warehouse(cache: TokenCache, host: str, wanted: str | None) -> Warehouse:
    """The warehouse `wanted` (an id or a name), or with None the only running warehouse."""
    warehouses = list_warehouses(cache, host)
    listing = "; ".join(w.describe() for w in warehouses) or "none"
    if wanted:
        match = [w for w in warehouses if wanted in (w.id, w.name)]
        if len(match) == 1:
            _note_not_running(match[0])
            return match[0]
        raise no_such_warehouse(host, wanted, listing)
    running = [w for w in warehouses if w.state == RUNNING]
    if len(running) == 1:
        return running[0]
    if not warehouses:
        raise SqlWarehouseError(
            f"{host} has no SQL warehouse you can use.",
            hint="Create one (SQL Warehouses page) or ask for CAN USE on one, then run again.",
        )
    what = "No SQL warehouse is running" if not running else "Several SQL warehouses are running"
    raise SqlWarehouseError(
        f"{what} on {host}; the warehouses: {listing}.",
        hint="Pick one with --warehouse ID (a stopped warehouse starts on the first query).",
    )


def _note_not_running(warehouse: Warehouse) -> None:
    if warehouse.state != RUNNING:
        # Goes to the cell's output: opening the session waits until the warehouse runs.
        print(
            f"SQL warehouse {warehouse.describe()} is not running: it starts now, which takes "
            "seconds (serverless) to minutes (classic).",
            file=sys.stderr,
        )


def sql_target(
    cache: TokenCache, host: str, warehouse: str | None, http_path: str | None
) -> tuple[str, Warehouse | None]:
    """The HTTP path to open and the warehouse behind it (None with an explicit --http-path).

    With --http-path the warehouse list is still read once, as a reachability check: an
    unreachable host would otherwise keep the connector retrying for 15 minutes.
    """
    if http_path:
        try:
            list_warehouses(cache, host)
        except WarehouseUnreachable:
            raise
        except SqlWarehouseError:
            pass  # the listing may be refused where the warehouse is not: the connector tells
        return http_path, None
    chosen = resolve_warehouse(cache, host, warehouse)
    return warehouse_path(chosen.id), chosen


# -- connecting -----------------------------------------------------------------------------
def sql_connect(cache: TokenCache, host: str, *, http_path: str, **kwargs: Any) -> Any:
    """`databricks.sql.connect(...)` with our credentials provider (Thrift, not the kernel path),
    its errors explained.

    An `http://` host (the emulator or a local test endpoint) cannot be expressed as
    `server_hostname` (the connector always prefixes https), so it goes in as the connector's
    `_connection_uri`, with the connector's telemetry off.
    """
    from databricks import sql

    parts = urlsplit(host)
    options: dict[str, Any] = {
        "server_hostname": parts.netloc or host,
        "http_path": http_path,
        "credentials_provider": credentials_provider(cache),
        **kwargs,
    }
    if parts.scheme == "http":
        options.setdefault("_connection_uri", f"{host.rstrip('/')}/{http_path.lstrip('/')}")
        # Telemetry and its feature-flag lookup always use https://server_hostname, which a
        # plain-http loopback endpoint cannot answer (each attempt retries for seconds).
        options.setdefault("enable_telemetry", False)
    try:
        return sql.connect(**options)
    except DbxAuthError:
        raise
    except Exception as exc:
        raise explain(exc, host, http_path) from None


def explain(exc: BaseException, host: str, http_path: str) -> DbxAuthError:
    """A connector error as what happened and what to do, instead of "Error during request to
    server". Codes as the connector reports them (`RequestError.context["http-code"]`)."""
    context = getattr(exc, "context", None)
    code = context.get("http-code") if isinstance(context, dict) else None
    reason = (context or {}).get("error-message") if isinstance(context, dict) else None
    reason = str(reason or "").strip(": ").strip()
    if code in (401, 403):
        return refused(host, code, reason, http_path=http_path)
    if code == 404:
        return no_such_warehouse(host, http_path, None)
    if code in (429, 503):
        return SqlWarehouseError(
            f"The SQL warehouse at {http_path} on {host} is not available (HTTP {code}): it is "
            "stopped or still starting, and did not come up while the connector waited.",
            hint="Start it on the SQL Warehouses page (or wait a minute), then run again.",
        )
    cause = _root_cause(exc)
    if code is None and isinstance(cause, (OSError, *_urllib3_errors())):
        return unreachable(host, cause)
    return SqlWarehouseError(
        f"The SQL connection to {http_path} on {host} failed: {type(exc).__name__}: "
        f"{getattr(exc, 'message', None) or exc}",
        hint="Check the warehouse's Connection details (host, HTTP path).",
    )


def refused(
    host: str, code: int, reason: str | None = None, *, http_path: str | None = None
) -> SqlWarehouseError:
    what = f"the SQL warehouse at {http_path}" if http_path else host
    because = f": {reason}" if reason else ""
    return SqlWarehouseError(
        f"Databricks refused the token for {what} (HTTP {code}{because}).",
        hint="Sign in again (Databricks sidebar or %dbx_login) and run %dbx_connect again; if it "
        "persists, ask for CAN USE on the warehouse or a token with the sql scope.",
    )


def no_such_warehouse(host: str, wanted: str, listing: str | None) -> SqlWarehouseError:
    known = f"; the warehouses: {listing}" if listing else ""
    return SqlWarehouseError(
        f"No SQL warehouse {wanted} on {host} (or no permission to use it){known}.",
        hint="Check the id on the warehouse's Connection details, or leave out --warehouse to "
        "use the only running one.",
    )


def unreachable(host: str, exc: BaseException) -> SqlWarehouseError:
    return WarehouseUnreachable(
        f"Cannot reach {host}: {type(exc).__name__}: {exc}"[:300],
        hint="Check the host URL, the network and any proxy settings (HTTPS_PROXY).",
    )


def _api_message(response: Any) -> str:
    try:
        return str(response.json().get("message") or "")[:200]
    except (ValueError, AttributeError):
        return ""


def _root_cause(exc: BaseException) -> BaseException:
    seen = exc
    for _ in range(10):
        inner = seen.__cause__ or seen.__context__
        if inner is None:
            break
        seen = inner
    args = getattr(exc, "args", ())
    original = args[1] if len(args) > 1 and isinstance(args[1], BaseException) else None
    return original or seen


def _urllib3_errors() -> tuple[type[BaseException], ...]:
    try:
        import urllib3.exceptions as u3
    except ImportError:  # pragma: no cover - the connector depends on urllib3
        return ()
    return (u3.MaxRetryError, u3.NewConnectionError, u3.ProtocolError)
