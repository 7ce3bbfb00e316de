"""The kernel's token cache: cached reads, refresh ahead of expiry, and naming a refused token."""

from __future__ import annotations

import threading

from jupyter_dbx_auth.core.secret import Secret
from jupyter_dbx_auth.kernel.tokens import KernelToken, TokenCache


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_cached_until_close_to_expiry_then_fetched_again() -> None:
    clock = Clock()
    calls: list[KernelToken | None] = []

    def fetch(rejected: KernelToken | None) -> KernelToken:
        calls.append(rejected)
        return KernelToken(Secret(f"t{len(calls)}"), clock.now + 600)

    cache = TokenCache(fetch, margin=300, clock=clock)
    assert cache.headers() == {"Authorization": "Bearer t1"}
    clock.now += 200
    assert cache.headers() == {"Authorization": "Bearer t1"}
    clock.now += 300  # within the margin of expiry
    assert cache.headers() == {"Authorization": "Bearer t2"}
    assert calls == [None, None]


def test_refresh_names_the_token_that_was_refused() -> None:
    tokens: list[KernelToken] = []
    seen: list[KernelToken | None] = []

    def fetch(rejected: KernelToken | None) -> KernelToken:
        seen.append(rejected)
        tokens.append(KernelToken(Secret(f"t{len(tokens) + 1}"), 10**10))
        return tokens[-1]

    cache = TokenCache(fetch)
    first = cache.token()
    second = cache.refresh()
    assert seen == [None, first]
    assert second.access_token != first.access_token
    assert "t1" not in repr(cache) and "t2" not in repr(cache)


def test_one_fetch_for_many_threads() -> None:
    calls = []
    gate = threading.Event()

    def fetch(rejected: KernelToken | None) -> KernelToken:
        calls.append(rejected)
        gate.wait(1)
        return KernelToken(Secret("shared"), 10**10)

    cache = TokenCache(fetch)
    results: list[dict[str, str]] = []
    threads = [threading.Thread(target=lambda: results.append(cache.headers())) for _ in range(20)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert results == [{"Authorization": "Bearer shared"}] * 20
