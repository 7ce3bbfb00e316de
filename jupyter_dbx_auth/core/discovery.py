"""Where a connection's OAuth endpoints are: host metadata, then RFC 8414 metadata, cached.

The order follows databricks-sdk (`Config._resolve_host_metadata` + `get_endpoints_from_url`):
1. an explicit `discovery_url` wins and nothing else is asked;
2. `GET {host}/.well-known/databricks-config` gives `oidc_endpoint` (possibly with an
   `{account_id}` placeholder, as on unified hosts and the emulator), `account_id`,
   `workspace_id` and `cloud`; a 404 means an older host: the host kind's default layout is used
   (`hosts.HostKind.oidc_root`);
3. account-level connections always use `{host}/oidc/accounts/{account_id}`;
4. `GET {oidc_root}/.well-known/oauth-authorization-server`.

Results are cached per (host, account, discovery_url) for a TTL, and concurrent lookups of one key
share one request; failures are not cached, so a workspace that comes back is found next time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from .connections import Connection
from .errors import ConfigError, DiscoveryError
from .hosts import is_loopback, parse_host

__all__ = [
    "DEFAULT_TTL",
    "HOST_METADATA_PATH",
    "OAUTH_METADATA_PATH",
    "OidcDiscovery",
    "OidcEndpoints",
    "discover",
]

HOST_METADATA_PATH = "/.well-known/databricks-config"
OAUTH_METADATA_PATH = "/.well-known/oauth-authorization-server"
DEFAULT_TTL = 3600.0  # endpoints change on a scale of months; an hour bounds a stale entry
_TIMEOUT = httpx.Timeout(10.0)


@dataclass(frozen=True)
class OidcEndpoints:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None = None
    jwks_uri: str | None = None
    account_id: str | None = None
    workspace_id: str | None = None
    cloud: str | None = None  # "AWS" | "AZURE" | "GCP" when the host said so
    discovery_url: str = ""  # the RFC 8414 document these came from
    # Audience for workload identity when the connection sets none, as the sdk derives it from
    # host metadata: its first `token_federation_default_oidc_audiences`, else the account id
    # on an account-level host (metadata without a workspace id). None: the engine's default.
    default_audience: str | None = None


_CacheKey = tuple[str, str | None, bool, str | None]


class OidcDiscovery:
    """Discovery with a TTL cache. One per server is enough; it is safe to share across tasks.

    `client` is used as given (and never closed here); without one, a short-lived client is
    created per lookup, which is fine because lookups are rare thanks to the cache.
    """

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[_CacheKey, tuple[float, OidcEndpoints]] = {}
        self._inflight: dict[_CacheKey, asyncio.Task[OidcEndpoints]] = {}

    def clear(self) -> None:
        self._cache.clear()

    async def for_connection(
        self, conn: Connection, *, client: httpx.AsyncClient | None = None
    ) -> OidcEndpoints:
        return await self.endpoints(
            conn.host,
            account_id=conn.account_id,
            account=conn.account,
            discovery_url=conn.discovery_url,
            client=client,
        )

    async def endpoints(
        self,
        host: str,
        *,
        account_id: str | None = None,
        account: bool = False,
        discovery_url: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> OidcEndpoints:
        """Endpoints for a host; `client` overrides the instance's client for this call."""
        parsed = parse_host(host)
        account = parsed.is_account(account)
        key: _CacheKey = (parsed.url, account_id, account, discovery_url)
        hit = self._cache.get(key)
        now = self._clock()
        if hit is not None and hit[0] > now:
            return hit[1]
        # Single flight: callers arriving while a lookup runs share it (e.g. every connection of
        # one workspace at server start). Tasks belong to a loop, so another loop starts its own.
        loop = asyncio.get_running_loop()
        task = self._inflight.get(key)
        if task is None or task.get_loop() is not loop:
            task = loop.create_task(self._fetch(client or self._client, key))
            self._inflight[key] = task
            task.add_done_callback(lambda t: self._forget(key, t))
        # shield: one caller being cancelled must not cancel the lookup the others wait for.
        return await asyncio.shield(task)

    def _forget(self, key: _CacheKey, task: asyncio.Task[OidcEndpoints]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # mark a failure as retrieved when every waiter has gone away

    async def _fetch(self, client: httpx.AsyncClient | None, key: _CacheKey) -> OidcEndpoints:
        host, account_id, account, discovery_url = key
        if client is not None:
            result = await self._lookup(client, host, account_id, account, discovery_url)
        else:
            async with httpx.AsyncClient(timeout=_TIMEOUT) as own:
                result = await self._lookup(own, host, account_id, account, discovery_url)
        self._cache[key] = (self._clock() + self._ttl, result)
        return result

    async def _lookup(
        self,
        client: httpx.AsyncClient,
        host: str,
        account_id: str | None,
        account: bool,
        discovery_url: str | None,
    ) -> OidcEndpoints:
        if discovery_url:
            doc_url = _checked_url(discovery_url, "discovery_url")
            return _endpoints(await _get_json(client, doc_url, "OIDC discovery"), doc_url)
        meta = await _host_metadata(client, host)
        workspace_id = cloud = audience = None
        root: str | None = None
        if meta is not None:
            account_id = account_id or _opt_str(meta.get("account_id"))
            workspace_id = _opt_str(meta.get("workspace_id"))
            cloud = (_opt_str(meta.get("cloud")) or "").upper() or None
            oidc_endpoint = _opt_str(meta.get("oidc_endpoint"))
            audiences = meta.get("token_federation_default_oidc_audiences")
            if isinstance(audiences, list) and audiences:
                audience = _opt_str(audiences[0])
            elif not workspace_id and account_id:
                audience = account_id
            if oidc_endpoint and not account:
                if "{account_id}" in oidc_endpoint:
                    if not account_id:
                        raise _needs_account_id(host)
                    oidc_endpoint = oidc_endpoint.replace("{account_id}", account_id)
                root = _checked_url(oidc_endpoint.rstrip("/"), "oidc_endpoint")
        if root is None:
            try:
                root = parse_host(host).oidc_root(account_id=account_id, account=account)
            except ConfigError as exc:
                raise _needs_account_id(host) from exc
        doc_url = root + OAUTH_METADATA_PATH
        found = _endpoints(await _get_json(client, doc_url, "OIDC discovery"), doc_url)
        return dataclasses.replace(
            found,
            account_id=account_id,
            workspace_id=workspace_id,
            cloud=cloud or parse_host(host).cloud,
            default_audience=audience,
        )


def _needs_account_id(host: str) -> DiscoveryError:
    return DiscoveryError(
        f"{host} needs an account id to find its OAuth endpoints, and none is configured.",
        hint="Set account_id (DATABRICKS_ACCOUNT_ID) on the connection.",
    )


def _opt_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _checked_url(url: str, what: str) -> str:
    """Endpoints receive codes, secrets and tokens: https only, http only on loopback."""
    parts = urllib.parse.urlsplit(url)
    ok = parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname or ""))
    if not ok or not parts.hostname:
        raise DiscoveryError(
            f"The {what} {parts.scheme}://{parts.hostname or ''}{parts.path} is not an https URL.",
            hint="OAuth endpoints must use https (plain http only on localhost); check the "
            "discovery_url setting or the workspace's discovery documents.",
        )
    return url


async def _host_metadata(client: httpx.AsyncClient, host: str) -> dict[str, Any] | None:
    """`/.well-known/databricks-config`, or None when the host does not have it (404)."""
    return await _get_json(client, host + HOST_METADATA_PATH, "host metadata", allow_404=True)


async def _get_json(
    client: httpx.AsyncClient, url: str, what: str, *, allow_404: bool = False
) -> Any:
    try:
        resp = await client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise DiscoveryError(f"Could not read the {what} at {url}: {type(exc).__name__}.") from None
    if resp.status_code == 404 and allow_404:
        return None
    if resp.status_code != 200:
        hint = None
        if resp.status_code == 404 and "/oidc/accounts/" in url:
            hint = "Check the account id: the account console has no OAuth endpoints for it."
        raise DiscoveryError(f"The {what} at {url} answered HTTP {resp.status_code}.", hint=hint)
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DiscoveryError(
            f"The {what} at {url} is not a JSON object.",
            hint="Check that the host is a Databricks workspace or account console, not a login "
            "page or proxy.",
        )
    return body


def _endpoints(doc: dict[str, Any], doc_url: str) -> OidcEndpoints:
    missing = [k for k in ("issuer", "authorization_endpoint", "token_endpoint") if not doc.get(k)]
    if missing:
        raise DiscoveryError(
            f"The OIDC discovery document at {doc_url} lacks {', '.join(missing)}.",
            hint="Check the discovery_url setting; it must point to an OAuth authorization "
            "server metadata document.",
        )
    revocation = _opt_str(doc.get("revocation_endpoint"))
    jwks = _opt_str(doc.get("jwks_uri"))
    return OidcEndpoints(
        issuer=str(doc["issuer"]),
        authorization_endpoint=_checked_url(str(doc["authorization_endpoint"]), "authorize URL"),
        token_endpoint=_checked_url(str(doc["token_endpoint"]), "token URL"),
        revocation_endpoint=_checked_url(revocation, "revocation URL") if revocation else None,
        jwks_uri=_checked_url(jwks, "JWKS URL") if jwks else None,
        discovery_url=doc_url,
    )


_default = OidcDiscovery()


async def discover(conn: Connection, *, client: httpx.AsyncClient | None = None) -> OidcEndpoints:
    """Endpoints for a connection through the process-wide cache; `client` is used if given."""
    return await _default.for_connection(conn, client=client)
