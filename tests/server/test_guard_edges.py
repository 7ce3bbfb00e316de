"""Edges of the sign-in state registry and the kernel key that mutation testing found untested
(`make mutate`, docs/testing.md)."""

from __future__ import annotations

from jupyter_dbx_auth.core.service.pending import PendingLogins, StateRejected
from jupyter_dbx_auth.server.kernel_key import KernelKey


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
    assert str(exc) == (
        "This sign-in took too long and expired. Start the sign-in again from JupyterLab."
    )


def test_kernel_key_never_shows_itself_and_refuses_undecodable_candidates():
    key = KernelKey("k" * 43)
    assert repr(key) == "KernelKey('***')"
    assert "k" * 8 not in repr(key) and "k" * 8 not in str(key)
    # A lone surrogate cannot come through an HTTP header, but a direct caller must get False,
    # not an exception.
    assert key.matches("\ud800") is False
    assert key.matches("k" * 42 + "\udfff") is False
    assert key.matches("k" * 43) is True


def test_a_sign_in_is_valid_up_to_its_ttl_inclusive_even_when_others_start():
    now = [0.0]
    reg: PendingLogins[str] = PendingLogins(ttl=600, clock=lambda: now[0])
    reg.add("alice", "ws", "s1", "p1")
    now[0] = 600.0  # exactly the TTL: not yet expired
    reg.add("bob", "ws", "s2", "p2")  # purges expired entries first
    assert reg.take("alice", "s1").connection == "ws"


def test_the_server_wide_bound_is_exact_and_said_in_words():
    from jupyter_dbx_auth.core.service.pending import TooManyLogins

    reg: PendingLogins[str] = PendingLogins(total=2)
    reg.add("u1", "ws", "s1", "p")
    reg.add("u2", "ws", "s2", "p")
    try:
        reg.add("u3", "ws", "s3", "p")
    except TooManyLogins as exc:
        # Shown to the person on the sign-in page (pages.py uses str(exc)).
        assert str(exc) == (
            "Too many sign-ins are in progress on this server (2). Wait until one finishes or "
            "expires (at most 600 s), then start again."
        )
    else:
        raise AssertionError("a third sign-in was accepted with total=2")
    assert len(reg) == 2


def test_loopback_host_headers_with_and_without_a_port():
    from jupyter_dbx_auth.core.service.redirects import host_is_loopback

    for host in ("localhost", "127.0.0.1", "localhost:8888", "[::1]:8888", "[::1]", "::1"):
        assert host_is_loopback(host), host
    for host in ("example.com", "example.com:8888", "[2001:db8::1]:80", "", ":8888"):
        assert not host_is_loopback(host), host


def test_each_refusal_says_exactly_what_happened():
    """The callback page shows these messages; the reason goes to the audit log."""
    now = [0.0]
    reg: PendingLogins[str] = PendingLogins(ttl=600, clock=lambda: now[0])
    reg.add("alice", "ws", "mine", "p")
    reg.add("alice", "ws", "late", "p")
    cases = [
        ("alice", None, "The sign-in response carries no state.", "missing"),
        ("alice", "forged", "This sign-in response is unknown or was already used.", "unknown"),
        ("mallory", "mine", "This sign-in was started by another Jupyter user.", "other_user"),
        ("alice", "mine", "This sign-in response is unknown or was already used.", "unknown"),
    ]
    for user, state, message, reason in cases:
        try:
            reg.take(user, state)
        except StateRejected as exc:
            assert (exc.message, exc.reason) == (message, reason)
        else:
            raise AssertionError(f"{state!r} was accepted")
    now[0] = 600.0001
    try:
        reg.take("alice", "late")
    except StateRejected as exc:
        assert (exc.message, exc.reason) == ("This sign-in took too long and expired.", "expired")
    else:
        raise AssertionError("an expired sign-in was accepted")


def test_take_accepts_exactly_at_the_ttl_and_any_text_as_state():
    now = [0.0]
    reg: PendingLogins[str] = PendingLogins(ttl=600, clock=lambda: now[0])
    reg.add("alice", "ws", "s", "p")
    now[0] = 600.0
    assert reg.take("alice", "s").connection == "ws"
    try:
        reg.take("alice", "\ud800")  # not encodable: still a plain "unknown", no crash
    except StateRejected as exc:
        assert exc.reason == "unknown"


def test_safe_next_has_its_own_length_bound():
    from jupyter_dbx_auth.core.service.redirects import safe_next

    assert safe_next("/a/" + "x" * 2045, "/a/") == "/a/" + "x" * 2045  # 2048: the bound
    assert safe_next("/a/" + "x" * 2046, "/a/") is None


def test_safe_next_accepts_ordinary_characters_and_refuses_every_control_character():
    from jupyter_dbx_auth.core.service.redirects import safe_next

    for ok in ("/a/lab/X y.ipynb", "/a/lab/tree/Xx~!$&'()*+,;=:@.ipynb"):
        assert safe_next(ok, "/a/") == ok
    for control in ("\x01", "\x1f", "\x0b", "\x00"):
        assert safe_next(f"/a/lab{control}", "/a/") is None, repr(control)
