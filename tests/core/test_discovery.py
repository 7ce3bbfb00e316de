"""Discovery over real loopback HTTP: against the emulator, and against a tiny static server for
the shapes the emulator does not serve (an older host without `/.well-known/databricks-config`,
a broken document). Requests are observed with httpx event hooks, never faked."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from jupyter_dbx_auth.core.connections import AuthMethod, Connection
from jupyter_dbx_auth.core.discovery import OidcDiscovery, discover
from jupyter_dbx_auth.core.errors import DiscoveryError


class Recording:
    """An AsyncClient whose requests are listed (event hook), for cache and order assertions."""

    def __init__(self) -> None:
        self.urls: list[str] = []

        async def record(request: httpx.Request) -> None:
            self.urls.append(str(request.url))

        self.client = httpx.AsyncClient(trust_env=False, event_hooks={"request": [record]})


@pytest.fixture
async def rec() -> Recording:
    r = Recording()
    yield r
    await r.client.aclose()


def conn(host: str, **kw) -> Connection:
    return Connection(name="t", host=host, method=AuthMethod.USER, **kw)


async def test_workspace_follows_host_metadata(emulator, rec):
    found = await OidcDiscovery(rec.client).for_connection(conn(emulator.url))
    issuer = f"{emulator.url}/oidc"  # a workspace host names its own issuer
    assert found.issuer == issuer
    assert found.token_endpoint == f"{issuer}/v1/token"
    assert found.authorization_endpoint == f"{issuer}/v1/authorize"
    assert found.jwks_uri == f"{issuer}/v1/keys"
    assert (found.account_id, found.workspace_id, found.cloud) == (
        emulator.account_id,
        emulator.workspace_id,
        "AWS",
    )
    assert rec.urls == [
        f"{emulator.url}/.well-known/databricks-config",
        f"{issuer}/.well-known/oauth-authorization-server",
    ]


async def test_agrees_with_sdk(emulator):
    sdk_config = pytest.importorskip("databricks.sdk.config")
    sdk_oauth = pytest.importorskip("databricks.sdk.oauth")

    def sdk_side():
        cfg = sdk_config.Config(host=emulator.url, token="not-a-real-token")
        return cfg.discovery_url, sdk_oauth.get_endpoints_from_url(cfg.discovery_url)

    sdk_url, sdk_endpoints = await asyncio.to_thread(sdk_side)
    found = await OidcDiscovery().for_connection(conn(emulator.url))
    assert found.discovery_url == sdk_url
    assert found.token_endpoint == sdk_endpoints.token_endpoint
    assert found.authorization_endpoint == sdk_endpoints.authorization_endpoint


async def test_account_connection_uses_account_issuer(emulator, rec):
    c = conn(emulator.url, account=True, account_id=emulator.account_id)
    found = await OidcDiscovery(rec.client).for_connection(c)
    assert found.issuer == f"{emulator.url}/oidc/accounts/{emulator.account_id}"
    assert rec.urls[-1].endswith(
        f"/oidc/accounts/{emulator.account_id}/.well-known/oauth-authorization-server"
    )


async def test_wrong_account_id_is_a_clear_error(emulator):
    c = conn(emulator.url, account=True, account_id="no-such-account")
    with pytest.raises(DiscoveryError) as info:
        await OidcDiscovery().for_connection(c)
    assert "HTTP 404" in info.value.message and "account id" in info.value.hint


async def test_explicit_discovery_url_wins(emulator, rec):
    url = f"{emulator.url}/oidc/.well-known/oauth-authorization-server"
    found = await OidcDiscovery(rec.client).for_connection(conn(emulator.url, discovery_url=url))
    assert found.issuer == f"{emulator.url}/oidc"  # the workspace issuer, not the account one
    assert rec.urls == [url]  # host metadata was not asked


async def test_cache_per_host_and_ttl(emulator, rec):
    now = [1000.0]
    d = OidcDiscovery(rec.client, ttl=60, clock=lambda: now[0])
    first = await d.for_connection(conn(emulator.url))
    assert await d.for_connection(conn(emulator.url)) is first
    assert len(rec.urls) == 2
    # another account on the same host is another entry
    await d.for_connection(conn(emulator.url, account=True, account_id=emulator.account_id))
    assert len(rec.urls) == 4
    now[0] += 61
    await d.for_connection(conn(emulator.url))
    assert len(rec.urls) == 6
    d.clear()
    await d.for_connection(conn(emulator.url))
    assert len(rec.urls) == 8


async def test_concurrent_lookups_share_one_request(emulator, rec):
    d = OidcDiscovery(rec.client)
    results = await asyncio.gather(*(d.for_connection(conn(emulator.url)) for _ in range(50)))
    assert len({id(r) for r in results}) == 1
    assert len(rec.urls) == 2


async def test_module_level_discover(emulator):
    found = await discover(conn(emulator.url))
    assert found.account_id == emulator.account_id


# -- a static loopback server for the shapes the emulator does not have -------------------------


@pytest.fixture
def static_server() -> Iterator[tuple[str, dict[str, tuple[int, str]]]]:
    routes: dict[str, tuple[int, str]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = routes.get(self.path, (404, '{"error_code":"NOT_FOUND"}'))
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", routes
    finally:
        server.shutdown()
        server.server_close()


def oidc_doc(issuer: str, **extra: str) -> str:
    return json.dumps(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/v1/authorize",
            "token_endpoint": f"{issuer}/v1/token",
            "jwks_uri": f"{issuer}/v1/keys",
            **extra,
        }
    )


async def test_404_host_metadata_falls_back_to_default_layout(static_server, rec):
    url, routes = static_server
    routes["/oidc/.well-known/oauth-authorization-server"] = (
        200,
        oidc_doc(f"{url}/oidc", revocation_endpoint=f"{url}/oidc/v1/revoke"),
    )
    found = await OidcDiscovery(rec.client).for_connection(conn(url))
    assert found.token_endpoint == f"{url}/oidc/v1/token"
    assert found.revocation_endpoint == f"{url}/oidc/v1/revoke"
    assert found.account_id is None and found.workspace_id is None
    routes["/oidc/accounts/acc-1/.well-known/oauth-authorization-server"] = (
        200,
        oidc_doc(f"{url}/oidc/accounts/acc-1"),
    )
    acct = await OidcDiscovery().for_connection(conn(url, account=True, account_id="acc-1"))
    assert acct.issuer == f"{url}/oidc/accounts/acc-1"


@pytest.mark.parametrize(
    ("meta", "audience"),
    [
        ({"account_id": "acc-9"}, "acc-9"),  # account-level host: the account id
        ({"account_id": "acc-9", "workspace_id": "42"}, None),
        ({"account_id": "acc-9", "token_federation_default_oidc_audiences": ["aud-x"]}, "aud-x"),
    ],
)
async def test_default_audience_as_the_sdk_derives_it(static_server, meta, audience):
    url, routes = static_server
    routes["/.well-known/databricks-config"] = (
        200,
        json.dumps({"oidc_endpoint": f"{url}/oidc", **meta}),
    )
    routes["/oidc/.well-known/oauth-authorization-server"] = (200, oidc_doc(f"{url}/oidc"))
    found = await OidcDiscovery().for_connection(conn(url))
    assert found.default_audience == audience
    assert found.account_id == "acc-9"


async def test_placeholder_without_account_id(static_server):
    url, routes = static_server
    routes["/.well-known/databricks-config"] = (
        200,
        json.dumps({"oidc_endpoint": f"{url}/oidc/accounts/{{account_id}}"}),
    )
    with pytest.raises(DiscoveryError, match="needs an account id"):
        await OidcDiscovery().for_connection(conn(url))


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("<html>login</html>", "not a JSON object"),
        (json.dumps({"issuer": "x"}), "lacks authorization_endpoint, token_endpoint"),
        (
            json.dumps(
                {
                    "issuer": "x",
                    "authorization_endpoint": "http://idp.example.com/authorize",
                    "token_endpoint": "http://idp.example.com/token",
                }
            ),
            "is not an https URL",
        ),
    ],
)
async def test_bad_documents(static_server, body, fragment):
    url, routes = static_server
    routes["/oidc/.well-known/oauth-authorization-server"] = (200, body)
    with pytest.raises(DiscoveryError) as info:
        await OidcDiscovery().for_connection(conn(url))
    assert fragment in info.value.message and info.value.hint


async def test_server_error_and_unreachable_are_not_cached(static_server):
    url, routes = static_server
    routes["/.well-known/databricks-config"] = (503, "{}")
    d = OidcDiscovery()
    with pytest.raises(DiscoveryError, match="HTTP 503"):
        await d.for_connection(conn(url))
    del routes["/.well-known/databricks-config"]
    routes["/oidc/.well-known/oauth-authorization-server"] = (200, oidc_doc(f"{url}/oidc"))
    assert (await d.for_connection(conn(url))).issuer == f"{url}/oidc"

    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(DiscoveryError) as info:
        await d.for_connection(conn(closed))
    assert "ConnectError" in info.value.message and "reachable" in info.value.hint
