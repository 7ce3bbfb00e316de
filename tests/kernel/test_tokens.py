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


def test_token_rejected_renews_every_client_of_that_connection() -> None:
    import jupyter_dbx_auth

    reports: list[tuple[str, str | None]] = []

    def source(label: str):
        count = [0]

        def fetch(rejected: KernelToken | None) -> KernelToken:
            reports.append((label, rejected.access_token.reveal() if rejected else None))
            count[0] += 1
            return KernelToken(Secret(f"{label}-{count[0]}"), 10**10)

        return fetch

    a, b = TokenCache(source("a"), label="prod"), TokenCache(source("b"), label="prod")
    other = TokenCache(source("c"), label="dev")
    for cache in (a, b, other):
        cache.token()
    assert jupyter_dbx_auth.token_rejected("prod") == 2
    assert ("a", "a-1") in reports and ("b", "b-1") in reports  # each reported its own token
    assert a.token().access_token.reveal() == "a-2" and other.token().access_token.reveal() == "c-1"
    assert jupyter_dbx_auth.token_rejected("nothing-here") == 0
