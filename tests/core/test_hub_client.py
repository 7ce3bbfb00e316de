"""`core.hub_client`: where a hub-spawned server finds the token service, and what each of the
service's answers becomes. The answers come over real HTTP on loopback from a small stand-in that
replies with the service's documented shapes (`docs/hub/README.md`, "The service's HTTP API");
the service itself answers the same server in `tests/hub/test_hub_mode.py`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from jupyter_dbx_auth.core.errors import (
    BadRequest,
    LoginRequired,
    NotFound,
    OAuthError,
    TooManyRequests,
)
from jupyter_dbx_auth.core.hub_client import (
    HubEndpoint,
    HubServiceClient,
    HubServiceRefused,
    HubServiceUnavailable,
)
from jupyter_dbx_auth.core.secret import Secret

#: path -> (status, body, headers): what the stand-in answers.
REPLIES: dict[str, tuple[int, object, dict[str, str]]] = {}
SEEN: list[dict[str, str]] = []


class _Service(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        SEEN.append({"path": self.path, "auth": self.headers.get("Authorization", "")})
        status, body, headers = REPLIES.get(self.path.split("?")[0], (404, "", {}))
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    REPLIES.clear()
    SEEN.clear()
    yield f"http://127.0.0.1:{server.server_port}/services/dbx-auth/"
    server.shutdown()
    server.server_close()


def client_for(url: str) -> HubServiceClient:
    endpoint = HubEndpoint("dbx-auth", url, "/services/dbx-auth/", Secret("server-token"))
    return HubServiceClient(endpoint, httpx.AsyncClient(trust_env=False), timeout=5)


def test_endpoint_from_the_hubs_environment() -> None:
    base = {"JUPYTERHUB_API_TOKEN": "hub-token-1", "JUPYTERHUB_BASE_URL": "/jh/"}
    assert HubEndpoint.from_env("dbx-auth", {}) is None  # not spawned by a hub
    assert HubEndpoint.from_env(None, base) is None  # the service not named
    public = {**base, "JUPYTERHUB_PUBLIC_HUB_URL": "https://hub.example.com/jh/hub/"}
    endpoint = HubEndpoint.from_env("dbx-auth", public)
    assert endpoint is not None
    assert endpoint.api_url == "https://hub.example.com/jh/services/dbx-auth/"
    assert endpoint.browser_url == "/jh/services/dbx-auth/"
    assert endpoint.login_path("a b", "/jh/user/x/") == (
        "/jh/services/dbx-auth/login/a%20b?next=%2Fjh%2Fuser%2Fx%2F"
    )
    given = {
        **public,
        "JUPYTER_DBX_AUTH_HUB_SERVICE_URL": "http://10.0.0.1:10101/jh/services/dbx-auth",
    }
    assert HubEndpoint.from_env("dbx-auth", given).api_url.endswith(":10101/jh/services/dbx-auth/")
    assert "hub-token-1" not in repr(HubEndpoint.from_env("dbx-auth", given))
    with pytest.raises(BadRequest, match="address of the hub token service"):
        HubEndpoint.from_env("dbx-auth", base)


async def test_tokens_and_the_servers_own_credential(service: str) -> None:
    REPLIES["/services/dbx-auth/api/token/emu%40g"] = (
        200,
        {"access_token": "at-1", "expires_at": 2e9, "token_type": "Bearer"},
        {},
    )
    tokens = await client_for(service).token("emu@g", rejected="fp-1")
    assert tokens.access_token.reveal() == "at-1" and tokens.expires_at == 2e9
    assert SEEN[-1] == {
        "path": "/services/dbx-auth/api/token/emu%40g?rejected=fp-1",
        "auth": "token server-token",
    }


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "words"),
    [
        (
            409,
            {"error": "LoginRequired", "message": "Connection emu is not signed in."},
            {},
            LoginRequired,
            "not signed in",
        ),
        (
            404,
            {"error": "NotFound", "message": "No service principal 'x' is available to you."},
            {},
            NotFound,
            "available to you",
        ),
        (
            429,
            {"message": "Too many forced refreshes."},
            {"Retry-After": "7"},
            TooManyRequests,
            "forced",
        ),
        (
            403,
            {"error": "Forbidden", "message": "Forbidden", "hint": ""},
            {},
            HubServiceRefused,
            "access:services!service=dbx-auth",
        ),
        (404, "<html>not found</html>", {}, HubServiceRefused, "refused this server"),
        (
            502,
            {"error": "OAuthError", "message": "Databricks failed."},
            {},
            OAuthError,
            "Databricks failed",
        ),
        (
            500,
            "Traceback (most recent call last): secret",
            {},
            HubServiceUnavailable,
            "failed (HTTP 500)",
        ),
        (200, "not json", {}, HubServiceUnavailable, "not its API"),
    ],
)
async def test_every_answer_is_an_error_a_person_can_act_on(
    service: str, status: int, body: object, headers: dict[str, str], kind: type, words: str
) -> None:
    REPLIES["/services/dbx-auth/api/token/emu"] = (status, body, headers)
    with pytest.raises(kind) as caught:
        await client_for(service).token("emu")
    assert type(caught.value) is kind and words in str(caught.value)
    assert caught.value.hint and "Traceback" not in str(caught.value)
    if kind is TooManyRequests:
        assert caught.value.retry_after == 7


async def test_an_unreachable_service(service: str) -> None:
    dead = service.replace(service.split("/")[2], "127.0.0.1:9")  # discard port: refused
    with pytest.raises(HubServiceUnavailable, match="could not be reached") as caught:
        await client_for(dead).status()
    assert "minute" in caught.value.hint
