"""The kernel token API's fast path: HTTP/1.1 on a unix socket that only this user can open.

Kernels ask for a token whenever theirs nears expiry, in bursts when many notebooks run. Through
tornado each request costs ~600 µs of framework work on a small machine (parsing, handler
set-up, header formatting), which caps the route at ~1,650 requests/s on one core. This listener
answers the same `GET token?...` with the same code (`handlers.token.issue_token`) and only the
HTTP the kernel client speaks: one request line, headers, no body, keep-alive.

Safer as well as faster: the socket is 0600 in a fresh 0700 directory, so no other local user can
even connect, and every request still needs the kernel key. The tornado route stays for kernels
that cannot reach a unix socket (e.g. on another host through a gateway). Kernels learn the path
from `JUPYTER_DBX_AUTH_TOKEN_SOCKET` (`kernel_key.ENV_SOCKET`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .handlers.base import ApiError, error_reply, status_for

log = logging.getLogger(__name__)

#: Largest request head accepted: a request line with a long connection name, and a few headers.
MAX_HEAD = 8 * 1024
#: Pending connections the kernel may queue. A unix socket refuses (EAGAIN) rather than waits
#: when this is full, and many kernels can connect at once (asyncio's default is 100).
BACKLOG = 1024
#: How long an idle kept-alive connection is kept open.
IDLE_TIMEOUT = 300.0

Answer = Callable[..., Awaitable[dict[str, Any]]]

_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}


def available() -> bool:
    return hasattr(socket, "AF_UNIX") and sys.platform != "win32"


class TokenSocket:
    """`start()` listens, `path` is what kernels connect to, `close()` removes it all."""

    def __init__(self, answer: Answer) -> None:
        self._answer = answer
        self._dir = Path(tempfile.mkdtemp(prefix="jupyter-dbx-auth-"))  # 0700 by mkdtemp
        self.path = str(self._dir / "token.sock")
        self._server: asyncio.AbstractServer | None = None

    def __repr__(self) -> str:
        return f"<TokenSocket {self.path!r}>"

    async def start(self) -> None:
        # No umask games (the umask is process-wide, and other coroutines run during start-up):
        # the fresh 0700 directory already keeps everyone else out between bind() and chmod().
        self._server = await asyncio.start_unix_server(
            self._serve, path=self.path, limit=MAX_HEAD, backlog=BACKLOG
        )
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        shutil.rmtree(self._dir, ignore_errors=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
                except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
                    return  # the client went away, or stayed idle too long
                except asyncio.LimitOverrunError:
                    await self._write(writer, 400, _bad("The request head is too large."), False)
                    return
                request = _parse(head)
                if request is None:
                    await self._write(writer, 400, _bad("Malformed HTTP request."), False)
                    return
                method, target, headers = request
                keep_alive = headers.get("connection", "").lower() != "close"
                if "content-length" in headers or "transfer-encoding" in headers:
                    # The token API takes no body; refusing one keeps the framing trivial.
                    await self._write(writer, 400, _bad("The token API takes no body."), False)
                    return
                status, body = await self._respond(method, target, headers)
                await self._write(writer, status, body, keep_alive)
                if not keep_alive:
                    return
        except (
            Exception
        ):  # never let one connection's failure reach the event loop's log as a trace
            log.exception("Token socket connection failed")
        finally:
            writer.close()

    async def _respond(
        self, method: str, target: str, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, Any]]:
        url = urlsplit(target)
        if method != "GET" or url.path.rstrip("/") not in ("/token", "token"):
            return 404, {"message": "Only GET /token is served here.", "hint": ""}
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            return 200, await self._answer(
                authorization=headers.get("authorization"),
                jupyter_credentials="cookie" in headers or "token" in query,
                query=query,
            )
        except ApiError as exc:
            return exc.status_code, error_reply((None, exc, None), "")
        except Exception as exc:
            status = status_for(exc)
            if status >= 500:
                log.exception("Token request failed")
            return status, error_reply((None, exc, None), "")

    @staticmethod
    async def _write(
        writer: asyncio.StreamWriter, status: int, body: dict[str, Any], keep_alive: bool
    ) -> None:
        data = json.dumps(body).encode()
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
            "Content-Type: application/json\r\n"
            "Cache-Control: no-store\r\n"
            f"Content-Length: {len(data)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
        ).encode()
        writer.write(head + data)
        await writer.drain()


def _bad(message: str) -> dict[str, str]:
    return {"message": message, "hint": "Kernels use jupyter_dbx_auth's own client."}


def _parse(head: bytes) -> tuple[str, str, dict[str, str]] | None:
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError:
        return None
    if not version.startswith("HTTP/1."):
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            return None
        headers[name.lower()] = value.strip()
    return method, target, headers
