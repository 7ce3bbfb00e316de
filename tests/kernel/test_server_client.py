"""The kernel's client for the server's kernel API: no cookies kept, one kept-alive token line."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jupyter_dbx_auth.core.errors import LoginRequired
from jupyter_dbx_auth.core.secret import Secret
from jupyter_dbx_auth.kernel.server_client import ServerClient


class FakeServer:
    """Answers like the kernel API, sets a cookie on every reply (as a token-less Jupyter does),
    and can drop kept-alive connections without notice (as a restarted server does)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []
        self.peers: list[int] = []
        self.drop_after_reply = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._reply()

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._reply()

            def _reply(self) -> None:
                outer.seen.append(dict(self.headers))
                outer.peers.append(self.client_address[1])
                if "connection=gone" in self.path:
                    status, body = 409, {"message": "Sign in again.", "error": "LoginRequired"}
                else:
                    status = 200
                    body = {
                        "access_token": "kernel-visible-token",
                        "expires_at": time.time() + 3600,
                        "connections": [],
                    }
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Set-Cookie", "username-anonymous=abc; Path=/")
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = outer.drop_after_reply

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/base/"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def server():
    fake = FakeServer()
    yield fake
    fake.close()


def test_no_cookie_is_ever_sent_back(server):
    client = ServerClient(server.url, Secret("k" * 32))
    client.connections()
    client.token("ws")
    client.connections()
    client.token("ws")
    assert len(server.seen) == 4
    assert all("Cookie" not in headers for headers in server.seen)
    assert all(h["Authorization"] == "DbxKernelKey " + "k" * 32 for h in server.seen)


def test_token_requests_reuse_one_connection_and_survive_a_dropped_one(server):
    client = ServerClient(server.url, Secret("k" * 32))
    for _ in range(3):
        assert client.token("ws").access_token.reveal() == "kernel-visible-token"
    assert len(set(server.peers)) == 1  # one kept-alive connection
    server.drop_after_reply = True  # the server closes it after its next reply, unannounced
    client.token("ws")
    server.drop_after_reply = False
    assert client.token("ws").expires_at is not None  # reopened transparently
    assert len(set(server.peers)) == 2


def test_server_errors_keep_their_type_and_words(server):
    client = ServerClient(server.url, Secret("k" * 32))
    with pytest.raises(LoginRequired, match="Sign in again"):
        client.token("gone")
    assert "k" * 32 not in repr(client) and "k" * 32 not in repr(client._token_get)
