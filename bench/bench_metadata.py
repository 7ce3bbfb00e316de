"""The metadata-service path (`%dbx_connect --env`, `default_connection`): what one token fetch
costs a tool, next to what a request costs once the SDK holds the token.

- fetch: databricks-sdk's own `MetadataServiceTokenSource.refresh()` (a new `requests.get` per
  call, as the SDK does whenever its token is stale) against a real Jupyter server with the
  extension in its own process (`bench_server.start_server`), which caches the M2M token;
- cached: `Config(auth_type="metadata-service").authenticate()` with a fresh token in the SDK's
  cache, i.e. every API request between fetches, next to the SDK's `oauth-m2m` cached path.

Run: `.venv/bin/python -m bench metadata`. Appends a table to bench/results.md.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

from bench.bench_kernel import RESULTS, _percentiles, _time_calls

FETCHES = 2_000
WARMUP = 100
N = 50_000


def _kept_alive(url: str, host: str) -> tuple[float, float, float]:
    """The same request on one kept-alive socket with no client library: the server's share."""
    import base64
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    auth = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
    request = (
        f"GET / HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
        f"X-Databricks-Metadata-Version: 1\r\nX-Databricks-Host: {host}\r\n"
        f"Authorization: Basic {auth}\r\n\r\n"
    ).encode()
    samples = []
    with socket.create_connection((str(parts.hostname), int(parts.port or 80))) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = sock.makefile("rb")
        for i in range(WARMUP + FETCHES):
            t = time.perf_counter_ns()
            sock.sendall(request)
            length = 0
            status = reader.readline()
            while (line := reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            reader.read(length)
            if i >= WARMUP:
                samples.append((time.perf_counter_ns() - t) / 1000)
            assert b" 200 " in status, status
    return (*_percentiles(samples), max(samples))


def main() -> None:
    from databricks.sdk.config import Config
    from databricks.sdk.credentials_provider import MetadataServiceTokenSource

    from bench.bench_server import BASE_URL, start_server
    from jupyter_dbx_auth.core.secret import Secret
    from jupyter_dbx_auth.emulator.harness import EmulatorProcess
    from jupyter_dbx_auth.kernel.server_client import ServerClient

    with tempfile.TemporaryDirectory() as tmpdir, EmulatorProcess() as emu:
        proc, port, header, _ = start_server(emu, Path(tmpdir), stub_idp=False)
        client = ServerClient(f"http://127.0.0.1:{port}{BASE_URL}", Secret(header.split(" ")[1]))
        try:
            url = client.metadata_service("etl")["url"]
            cfg = Config(host=emu.url, auth_type="metadata-service", metadata_service_url=url)
            source = MetadataServiceTokenSource(cfg)
            for _ in range(WARMUP):
                source.refresh()
            samples = []
            for _ in range(FETCHES):
                t = time.perf_counter_ns()
                source.refresh()
                samples.append((time.perf_counter_ns() - t) / 1000)
            fetch = (*_percentiles(samples), max(samples))
            kept = _kept_alive(url, emu.url)
            sp = emu.service_principal("emulator-etl-sp")
            m2m = Config(host=emu.url, client_id=sp["client_id"], client_secret=sp["secret"])
            cfg.authenticate(), m2m.authenticate()  # first tokens outside the timing
            cached = [
                (
                    "sdk metadata-service Config.authenticate() (cached token)",
                    _time_calls(cfg.authenticate, N),
                ),
                (
                    "sdk oauth-m2m Config.authenticate() (cached token)",
                    _time_calls(m2m.authenticate, N),
                ),
            ]
        finally:
            client.close()
            proc.terminate()
            proc.wait(10)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        f"\n### Metadata service ({stamp}, Python {platform.python_version()}, "
        f"{platform.machine()})",
        "",
        "| measurement | n | median µs | p99 µs |",
        "|---|---:|---:|---:|",
        f"| metadata-service fetch: sdk `MetadataServiceTokenSource.refresh()` | {FETCHES} | "
        f"{fetch[0]:.1f} | {fetch[1]:.1f} (max {fetch[2]:.1f}) |",
        f"| the same request, one kept-alive socket, no client library (server's share) "
        f"| {FETCHES} "
        f"| {kept[0]:.1f} | {kept[1]:.1f} (max {kept[2]:.1f}) |",
        *(f"| {name} | {N} | {p50:.2f} | {p99:.2f} |" for name, (p50, p99) in cached),
        "",
        "Fetch: what a tool signed in by `--env` pays when its token is stale: the SDK's own "
        "code, one new loopback connection per fetch (`requests.get`), to a real Jupyter server "
        "(own process) that caches the M2M token, checks the URL's secret (sent as Basic "
        "auth) and, on Linux, who owns the calling socket. Cached: "
        "every request in between, the same for any SDK auth type. Machine load (1-min "
        f"average): {os.getloadavg()[0]:.1f}.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    with RESULTS.open("a") as f:
        f.write(text)


if __name__ == "__main__":
    main()
