"""The kernel token API on a private unix socket, served by tornado's own `HTTPServer`.

Kernels ask for a token whenever theirs nears expiry. On this socket they reach the same
`TokenHandler` as on the HTTP route, in a tornado application of its own with only that route:
none of jupyter-server's per-request machinery, and no HTTP parser of ours.

Safer as well as faster: the socket is 0600 in a fresh 0700 directory, so no other local user can
even connect, and every request still needs the kernel key. The HTTP route stays for kernels that
cannot reach a unix socket (e.g. on another host through a gateway). Kernels learn the path from
`JUPYTER_DBX_AUTH_TOKEN_SOCKET` (`core.wire.ENV_SOCKET`).
"""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_unix_socket
from tornado.web import Application

from ..core import wire
from .handlers.base import ApiError, ErrorReplies
from .handlers.token import TokenHandler

#: Pending connections the kernel may queue. A unix socket refuses (EAGAIN) rather than waits
#: when this is full, and many kernels can connect at once (tornado's default is 128).
BACKLOG = 1024
#: How long an idle kept-alive connection is kept open.
IDLE_TIMEOUT = 300.0
#: Largest request head accepted: a request line with a long connection name, and a few headers.
MAX_HEAD = 8 * 1024


def available() -> bool:
    return hasattr(socket, "AF_UNIX") and sys.platform != "win32"


class _NotHere(ErrorReplies):
    """Every other path: a JSON 404 (tornado's default is an HTML page)."""

    def prepare(self) -> None:
        raise ApiError(404, f"Only GET {wire.SOCKET_TOKEN_PATH} is served here.")


class TokenSocket:
    """`start()` listens, `path` is what kernels connect to, `close()` removes it all."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self._settings = settings  # dbx_auth_service, dbx_auth_kernel_key
        self._dir = Path(tempfile.mkdtemp(prefix="jupyter-dbx-auth-"))  # 0700 by mkdtemp
        self.path = str(self._dir / "token.sock")
        self._server: HTTPServer | None = None

    def __repr__(self) -> str:
        return f"<TokenSocket {self.path!r}>"

    async def start(self) -> None:
        # No umask games (the umask is process-wide): the fresh 0700 directory keeps everyone
        # else out between bind() and the chmod to 0600 that bind_unix_socket does.
        sock = bind_unix_socket(self.path, mode=0o600, backlog=BACKLOG)
        app = Application(
            [(wire.SOCKET_TOKEN_PATH, TokenHandler)],
            default_handler_class=_NotHere,
            **self._settings,
        )
        self._server = HTTPServer(
            app,
            idle_connection_timeout=IDLE_TIMEOUT,
            max_header_size=MAX_HEAD,
            max_body_size=0,  # the token API takes no body
        )
        self._server.add_socket(sock)

    async def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
        shutil.rmtree(self._dir, ignore_errors=True)
