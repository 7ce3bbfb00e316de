"""The token API's unix-socket fast path: private, key-checked, robust, and what kernels use."""

from __future__ import annotations

import asyncio
import json
import os
import stat

import pytest
from server_helpers import login, scim_me

from jupyter_dbx_auth.core.secret import Secret
from jupyter_dbx_auth.kernel.server_client import ServerAPIError, ServerClient
from jupyter_dbx_auth.server.kernel_key import ENV_SOCKET

pytestmark = pytest.mark.skipif(os.name != "posix", reason="unix sockets")


@pytest.fixture
async def socket_path(dbx_app, server_url) -> str:
    for _ in range(100):  # published once the server's loop runs
        listener = getattr(dbx_app, "_token_socket", None)
        if listener is not None and os.environ.get(ENV_SOCKET) == listener.path:
            return listener.path
        await asyncio.sleep(0.05)
    raise AssertionError("the token socket was not published")


def req(target: str, *headers: str, method: str = "GET", body: str = "") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: localhost", *headers, "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


async def _raw(path: str, request: bytes) -> tuple[int, dict, bytes]:
    reader, writer = await asyncio.open_unix_connection(path)
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lengths = [
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    ]
    # Without a length: tornado refusing a request it cannot parse (an empty 400, then close).
    body = await reader.readexactly(lengths[0]) if lengths else b""
    rest = await asyncio.wait_for(reader.read(), 2)  # b"" once the server closes
    writer.close()
    return int(head.split(b" ")[1]), json.loads(body or rest or b"{}"), rest


async def test_the_socket_is_private(socket_path):
    assert stat.S_IMODE(os.stat(socket_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(socket_path)).st_mode) == 0o700
    assert stat.S_ISSOCK(os.stat(socket_path).st_mode)


async def test_kernels_get_tokens_through_it(browser, emulator, dbx_app, socket_path, server_url):
    await login(browser, emulator)
    client = ServerClient(
        server_url, Secret(dbx_app.kernel_key.header().split(" ", 1)[1]), token_socket=socket_path
    )
    try:
        token = await asyncio.to_thread(client.token, "ws")
        again = await asyncio.to_thread(client.token, "ws")
    finally:
        client.close()
    assert token.access_token == again.access_token
    assert (await scim_me(emulator.url, token.access_token.reveal())).status_code == 200
    assert socket_path in repr(client._token_get)  # it went through the socket, not HTTP


async def test_wrong_key_cookie_and_jupyter_token_are_refused(dbx_app, socket_path):
    key = f"Authorization: {dbx_app.kernel_key.header()}"
    cases = [
        req("/token?connection=ws"),
        req("/token?connection=ws", "Authorization: DbxKernelKey nope"),
        req("/token?connection=ws", key, "Cookie: a=b"),
        req("/token?connection=ws&token=x", key),
    ]
    for request in cases:
        status, body, _ = await _raw(socket_path, request)
        assert status == 403, body
        assert body["message"] and "access_token" not in body


async def test_hostile_input_gets_a_4xx_and_the_listener_survives(dbx_app, socket_path):
    key = f"Authorization: {dbx_app.kernel_key.header()}"
    # Requests tornado's HTTP parser refuses: an empty 400 and the connection closed.
    for request in [
        b"garbage\r\n\r\n",
        b"GET /token HTTP/2\r\n\r\n",
        b"GET /token HTTP/1.1\r\nHost: x\r\nno-colon-here\r\n\r\n",
        b"GET /token?connection=ws HTTP/1.1\r\n\r\n",  # HTTP/1.1 without Host
        req("/token?connection=ws", key, "Content-Length: 3", body="abc"),  # no body taken
    ]:
        status, body, _ = await _raw(socket_path, request)
        assert status == 400 and body == {}, (request[:60], body)
    # A head over the size limit: the connection is closed without an answer.
    reader, writer = await asyncio.open_unix_connection(socket_path)
    writer.write(b"GET /token HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 20_000 + b"\r\n\r\n")
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    # Requests that reach the application: JSON with a message.
    for request, expected in [
        (req("/token", key, method="POST"), 405),
        (req("/etc/passwd"), 404),
        (req("/token?connection=nope", key), 404),
    ]:
        status, body, _ = await _raw(socket_path, request)
        assert status == expected, (request[:60], body)
        assert body["message"] and "Traceback" not in json.dumps(body)
    # Still serving: a good request after all that.
    status, body, _ = await _raw(socket_path, req("/token?connection=ws", key))
    assert status == 409 and body["error"] == "LoginRequired"  # ws is not signed in here


async def test_a_kernel_with_a_wrong_key_gets_the_servers_words(dbx_app, socket_path, server_url):
    client = ServerClient(server_url, Secret("wrong"), token_socket=socket_path)
    try:
        with pytest.raises(ServerAPIError) as caught:
            await asyncio.to_thread(client.token, "ws")
    finally:
        client.close()
    assert caught.value.status == 403 and "kernel key" in str(caught.value)


async def test_many_kernels_connecting_at_once_are_all_served(emulator, dbx_app, socket_path):
    sp = emulator.service_principal("emulator-etl-sp")
    await dbx_app.service.add_service_principal(
        dbx_app.service.get("etl"),
        client_id=sp["client_id"],
        client_secret=Secret(sp["secret"]),
        expires_at=None,
        label="",
        user="test",
    )
    key = f"Authorization: {dbx_app.kernel_key.header()}"
    replies = await asyncio.gather(
        *(_raw(socket_path, req("/token?connection=etl", key)) for _ in range(300))
    )
    assert [status for status, _, _ in replies] == [200] * 300
    assert len({body["access_token"] for _, body, _ in replies}) == 1
