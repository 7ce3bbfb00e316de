"""databricks-sql-connector adapter: `credentials_provider` backed by the kernel's `TokenCache`.

The connector (4.x, Thrift path) takes `credentials_provider`, a zero-argument callable that
returns a header factory; it calls the provider once per connection and the factory before every
HTTP request. It wraps every provider in `TokenFederationProvider`, which decodes the token as a
JWT and (a) keeps it until one minute before its `exp`, (b) tries an RFC 8693 exchange at the
warehouse host's `/oidc/v1/token` when the JWT's `iss` host differs from the warehouse host.
Workspace tokens are issued by the workspace itself (`iss` = `https://<workspace>/oidc`; the
emulator's likewise), so (b) does not trigger for them; (a) is why our cache margin (90 s) is
longer than the connector's minute: when it asks again, we already hold the next token.

    conn = sql_connect(cache, host, http_path="/sql/1.0/warehouses/abc")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .tokens import TokenCache

HeaderFactory = Callable[[], dict[str, str]]


def credentials_provider(cache: TokenCache) -> Callable[[], HeaderFactory]:
    """The connector's `credentials_provider`: returns the cache's header factory."""

    def provider() -> HeaderFactory:
        return cache.headers

    return provider


def warehouse_path(warehouse_id: str) -> str:
    return f"/sql/1.0/warehouses/{warehouse_id}"


def sql_connect(cache: TokenCache, host: str, *, http_path: str, **kwargs: Any) -> Any:
    """`databricks.sql.connect(...)` with our credentials provider (Thrift, not the kernel path).

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
    return sql.connect(**options)
