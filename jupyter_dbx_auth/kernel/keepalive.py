"""One kept-alive HTTP/1.1 connection to the Jupyter server, for the token endpoint only.

A kernel waits on this call whenever its token nears expiry. On this path the standard library's
`http.client` costs about half of what httpx costs per call (measured: p50 ~1 ms against
~2.2 ms on loopback), and the kernel API needs nothing httpx adds: no proxies (a proxy must never
see the kernel key anyway), no redirects, no cookies. Other endpoints keep using httpx.
"""

from __future__ import annotations

import http.client
import socket
import threading
from urllib.parse import urlsplit


class KeepAliveGet:
    """`get(path) -> (status, body)` over one reused connection; thread-safe (one at a time)."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        timeout: float,
        *,
        unix_socket: str | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        self._unix_socket = unix_socket
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port
        self._headers = headers
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None

    def __repr__(self) -> str:
        where = self._unix_socket or f"{self._host}:{self._port}"
        return f"<KeepAliveGet {where}>"  # never the headers: they hold the kernel key

    def _connect(self) -> http.client.HTTPConnection:
        if self._unix_socket:
            return _UnixHTTPConnection(self._unix_socket, self._timeout)
        factory = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return factory(self._host, self._port, timeout=self._timeout)

    def get(self, path: str) -> tuple[int, bytes]:
        """GET `path`; a connection the server closed while idle is reopened once."""
        with self._lock:
            reused = self._conn is not None
            try:
                return self._get(path)
            except (http.client.HTTPException, OSError):
                self.close()
                if not reused:
                    raise
            return self._get(path)  # the kept-alive connection had gone stale: one fresh try

    def _get(self, path: str) -> tuple[int, bytes]:
        conn = self._conn or self._connect()
        self._conn = conn
        conn.request("GET", path, headers=self._headers)
        response = conn.getresponse()
        body = response.read()
        if response.will_close:
            self.close()
        return response.status, body

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP/1.1 over the server's private unix socket (the token API's fast path)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock
