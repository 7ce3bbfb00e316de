"""Edges of the sign-in state registry and the kernel key that mutation testing found untested
(`make mutate`, docs/testing.md)."""

from __future__ import annotations

from jupyter_dbx_auth.server.kernel_key import KernelKey
from jupyter_dbx_auth.server.pending import PendingLogins, StateRejected


def test_logout_drops_only_that_connections_sign_ins():
    reg: PendingLogins[str] = PendingLogins()
    reg.add("alice", "ws", "state-ws", "p1")
    reg.add("alice", "etl", "state-etl", "p2")
    reg.drop_connection("ws")
    assert len(reg) == 1
    assert reg.take("alice", "state-etl").connection == "etl"
    try:
        reg.take("alice", "state-ws")
    except StateRejected as exc:
        assert exc.reason == "unknown"
    else:
        raise AssertionError("a dropped sign-in was still accepted")


def test_state_rejected_reads_as_its_message():
    # Logged with %s (one line, no traceback): the text must be the message.
    exc = StateRejected("This sign-in took too long and expired.", "expired")
    assert str(exc) == "This sign-in took too long and expired."


def test_kernel_key_never_shows_itself_and_refuses_undecodable_candidates():
    key = KernelKey("k" * 43)
    assert repr(key) == "KernelKey('***')"
    assert "k" * 8 not in repr(key) and "k" * 8 not in str(key)
    # A lone surrogate cannot come through an HTTP header, but a direct caller must get False,
    # not an exception.
    assert key.matches("\ud800") is False
    assert key.matches("k" * 42 + "\udfff") is False
    assert key.matches("k" * 43) is True
