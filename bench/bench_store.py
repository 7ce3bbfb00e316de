"""Secret store latency: put / get / update per backend, median and p99, in microseconds.

The encrypted file's put is dominated by the two fsyncs (file, then directory) that make it
survive a power cut; get is one read plus a Fernet decrypt. The OS keyring row appears only where
a real keyring exists (not on headless CI).
"""

from __future__ import annotations

import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from jupyter_dbx_auth.core.store import EncryptedFileStore, MemoryStore, SecretStore
from jupyter_dbx_auth.core.store.keyring_store import KeyringStore
from jupyter_dbx_auth.core.store.select import probe_keyring

RESULTS = Path(__file__).with_name("results.md")
RECORD = {"refresh_token": "r" * 64, "host": "https://emu.cloud.databricks.com", "n": 0}


def timings(op: Callable[[int], object], n: int) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter_ns()
        op(i)
        out.append((time.perf_counter_ns() - start) / 1000)
    return out


def row(backend: str, op: str, samples: list[float]) -> tuple[str, str, int, float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return backend, op, len(samples), statistics.median(samples), p99


def measure(name: str, store: SecretStore, n: int) -> list[tuple[str, str, int, float, float]]:
    store.put("u2m", "bench", RECORD)
    rows = [
        row(name, "put", timings(lambda i: store.put("u2m", "bench", {**RECORD, "n": i}), n)),
        row(name, "get", timings(lambda i: store.get("u2m", "bench"), n)),
        row(name, "update", timings(lambda i: store.update("u2m", "bench", lambda r: r), n)),
    ]
    store.delete("u2m", "bench")
    return rows


def main(n: int = 300) -> list[tuple[str, str, int, float, float]]:
    rows = measure("memory", MemoryStore(), n * 10)
    with tempfile.TemporaryDirectory() as tmp:
        rows += measure("encrypted-file", EncryptedFileStore(tmp, key="55" * 32), n)
    import keyring

    ring = keyring.get_keyring()
    problem = probe_keyring(ring)
    if problem is None:
        with tempfile.TemporaryDirectory() as tmp:
            store = KeyringStore(ring, state_dir=tmp)
            rows += measure(f"keyring ({type(ring).__name__})", store, n)
    lines = [
        f"### Secret store latency ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"Python {platform.python_version()}, {platform.machine()})",
        "",
        "| backend | op | n | median µs | p99 µs |",
        "|---|---|---:|---:|---:|",
        *(f"| {b} | {op} | {k} | {med:.1f} | {p99:.1f} |" for b, op, k, med, p99 in rows),
    ]
    if problem is not None:
        lines += ["", f"OS keyring not measured: {problem}."]
    text = "\n".join(lines) + "\n"
    print(text)
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write("\n" + text)
    return rows


if __name__ == "__main__":
    main()
