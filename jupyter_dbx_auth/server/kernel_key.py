"""The per-server kernel key: how kernels started by this server prove where they come from.

The server draws a random key at start-up and puts it, with the server's loopback URL, into its own
environment; kernel managers copy `os.environ` into every kernel they start, so kernels of this
server (and nothing else) can present `Authorization: DbxKernelKey <key>`.

The names (environment variables, the `DbxKernelKey` scheme) are the kernel API's, in `core.wire`.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import MutableMapping
from typing import Any

from ..core.secret import Secret
from ..core.wire import ENV_KEY, ENV_SOCKET, ENV_URL, SCHEME, kernel_key_header, presented_key

__all__ = ["ENV_KEY", "ENV_SOCKET", "ENV_URL", "SCHEME", "KernelKey", "presented_key"]


class KernelKey:
    """A random key, compared in constant time, exported to kernels through the environment."""

    def __init__(self, value: str | None = None) -> None:
        self._secret = Secret(value or secrets.token_urlsafe(32))
        self._raw = self._secret.reveal().encode()
        self._exported: dict[str, str] = {}

    def __repr__(self) -> str:
        return "KernelKey('***')"

    def header(self) -> str:
        """The header value a kernel sends (tests and benchmarks use it)."""
        return kernel_key_header(self._secret.reveal())

    def matches(self, candidate: str | None) -> bool:
        if not candidate:
            return False
        return hmac.compare_digest(self._raw, candidate.encode("utf-8", "surrogatepass"))

    def export(
        self,
        environ: MutableMapping[str, str],
        server_url: str | None,
        token_socket: str | None = None,
    ) -> None:
        """Publish the key (and the URL and token socket, once known) to kernels started from
        now on."""
        values = {ENV_KEY: self._secret.reveal()}
        if server_url:
            values[ENV_URL] = server_url
        if token_socket:
            values[ENV_SOCKET] = token_socket
        environ.update(values)
        self._exported.update(values)

    def withdraw(self, environ: MutableMapping[str, str]) -> None:
        """Remove what `export` set, unless someone replaced it since (another server)."""
        for name, value in self._exported.items():
            if environ.get(name) == value:
                del environ[name]
        self._exported.clear()


def kernel_server_url(serverapp: Any) -> str | None:
    """The URL kernels use to reach this server: loopback when the server listens there.

    None while the server has no TCP port yet (extensions load before the HTTP server binds) or
    when it listens on a UNIX socket only.
    """
    if getattr(serverapp, "sock", ""):
        return None
    port = int(getattr(serverapp, "port", 0) or 0)
    if not port:
        return None
    ip = (getattr(serverapp, "ip", "") or "").strip()
    if ip in ("", "*", "0.0.0.0", "::", "localhost"):  # noqa: S104 - we only *read* the setting
        host = "127.0.0.1"  # listening on every interface includes loopback: stay on it
    else:
        try:
            addr = ipaddress.ip_address(ip.strip("[]"))
        except ValueError:
            host = ip  # a host name the server was told to bind to
        else:
            host = f"[{addr}]" if addr.version == 6 else str(addr)
    scheme = "https" if getattr(serverapp, "certfile", "") else "http"
    base_url = getattr(serverapp, "base_url", "/") or "/"
    return f"{scheme}://{host}:{port}{base_url}"
