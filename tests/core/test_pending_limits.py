"""The login-state table's per-client bound and `peek`, each said exactly: mutation testing found
the per-client refusal's hint and Retry-After unpinned, and a default that would have put every
caller without a client into one shared bucket."""

from __future__ import annotations

import pytest

from jupyter_dbx_auth.core.service.pending import PendingLogins, TooManyLogins

WAIT = "Wait until one finishes or expires (at most 600 s), then start again."


def test_the_per_client_bound_is_exact_and_said_in_words() -> None:
    reg: PendingLogins[str] = PendingLogins(ttl=600, per_client=2, per_user=10)
    reg.add("alice", "emu", "s1", "p", client="10.0.0.7")
    reg.add("bob", "emu", "s2", "p", client="10.0.0.7")
    with pytest.raises(TooManyLogins) as info:
        reg.add("carol", "emu", "s3", "p", client="10.0.0.7")
    assert info.value.message == "Too many sign-ins are in progress from this client (2)."
    assert info.value.hint == WAIT
    assert info.value.retry_after == 600
    reg.add("carol", "emu", "s3", "p", client="10.0.0.8")  # another client is not held back
    assert len(reg) == 3


def test_callers_without_a_client_are_not_one_client() -> None:
    reg: PendingLogins[str] = PendingLogins(per_client=2, per_user=10)
    for n in range(5):
        reg.add(f"user{n}", "emu", f"s{n}", "p")
    assert len(reg) == 5


def test_peek_finds_a_sign_in_and_leaves_it_in_place() -> None:
    reg: PendingLogins[str] = PendingLogins()
    reg.add("alice", "emu", "the-state", "pending-object", "/lab")
    entry = reg.peek("the-state")
    assert entry is not None
    assert (entry.user, entry.connection, entry.pending, entry.next_url) == (
        "alice",
        "emu",
        "pending-object",
        "/lab",
    )
    assert reg.peek("another-state") is None
    assert reg.take("alice", "the-state").pending == "pending-object"  # still there to take


def test_the_server_wide_refusal_says_when_to_retry() -> None:
    # The sign-in endpoint turns retry_after into the Retry-After header of its 429.
    reg: PendingLogins[str] = PendingLogins(ttl=600, total=1)
    reg.add("u1", "emu", "s1", "p")
    with pytest.raises(TooManyLogins) as info:
        reg.add("u2", "emu", "s2", "p")
    assert (info.value.hint, info.value.retry_after) == (WAIT, 600)


def test_in_progress_counts_only_sign_ins_within_their_ttl() -> None:
    now = [1000.0]
    reg: PendingLogins[str] = PendingLogins(ttl=600, clock=lambda: now[0])
    assert not reg.in_progress() and not reg.in_progress("emu")
    reg.add("alice", "emu", "s1", "p")
    now[0] += 600  # exactly its TTL: still valid (take() accepts it too)
    assert reg.in_progress("emu") and reg.in_progress()
    assert not reg.in_progress("other")
    now[0] += 0.001
    assert not reg.in_progress("emu") and not reg.in_progress()
    assert len(reg) == 1  # counted out, not removed: its late callback still reads "expired"
