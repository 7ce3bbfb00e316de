"""Pieces without a server: pending logins, kernel key, server URL; and the env kernels get."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from jupyter_dbx_auth.core.service.pending import PendingLogins, StateRejected
from jupyter_dbx_auth.server.kernel_key import (
    ENV_KEY,
    ENV_URL,
    KernelKey,
    kernel_server_url,
    presented_key,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_pending_is_single_use_bound_and_expiring():
    clock = Clock()
    reg: PendingLogins[str] = PendingLogins(ttl=600, per_user=2, clock=clock)
    reg.add("alice", "ws", "s1", "p1", "/lab")
    entry = reg.take("alice", "s1")
    assert (entry.pending, entry.next_url) == ("p1", "/lab")
    with pytest.raises(StateRejected) as err:
        reg.take("alice", "s1")
    assert err.value.reason == "unknown"
    reg.add("alice", "ws", "s2", "p2")
    with pytest.raises(StateRejected) as err:
        reg.take("bob", "s2")
    assert err.value.reason == "other_user"
    with pytest.raises(StateRejected):
        reg.take("alice", "s2")  # burnt by bob's attempt
    reg.add("alice", "ws", "s3", "p3")
    clock.now += 601
    with pytest.raises(StateRejected) as err:
        reg.take("alice", "s3")
    assert err.value.reason == "expired"
    with pytest.raises(StateRejected) as err:
        reg.take("alice", None)
    assert err.value.reason == "missing"


def test_pending_is_bounded_per_user():
    clock = Clock()
    reg: PendingLogins[str] = PendingLogins(per_user=2, clock=clock)
    for i in range(5):
        clock.now += 1
        reg.add("alice", "ws", f"s{i}", f"p{i}")
    reg.add("bob", "ws", "b", "pb")
    assert len(reg) == 3
    assert reg.take("alice", "s4").pending == "p4"
    with pytest.raises(StateRejected):
        reg.take("alice", "s0")
    assert reg.take("bob", "b").pending == "pb"


def test_kernel_key_header_and_comparison():
    key = KernelKey()
    header = key.header()
    assert key.matches(presented_key(header))
    assert key.matches(presented_key("dbxkernelkey " + header.split(" ", 1)[1]))
    assert not key.matches(presented_key("token " + header.split(" ", 1)[1]))
    assert not key.matches(presented_key(header + "x"))
    assert not key.matches(None)
    assert "***" in repr(key) and header.split(" ", 1)[1] not in repr(key)


def test_kernel_key_export_and_withdraw():
    env: dict[str, str] = {}
    key = KernelKey()
    key.export(env, "http://127.0.0.1:1/")
    assert set(env) == {ENV_KEY, ENV_URL}
    key.withdraw(env)
    assert env == {}


@pytest.mark.parametrize(
    ("ip", "port", "certfile", "expected"),
    [
        ("localhost", 8888, "", "http://127.0.0.1:8888/a%40b/"),
        ("0.0.0.0", 8888, "", "http://127.0.0.1:8888/a%40b/"),  # noqa: S104
        ("::1", 8888, "", "http://[::1]:8888/a%40b/"),
        ("10.1.2.3", 9000, "/c.pem", "https://10.1.2.3:9000/a%40b/"),
        ("localhost", 0, "", None),
        ("", 8888, "", "http://127.0.0.1:8888/a%40b/"),
        ("*", 8888, "", "http://127.0.0.1:8888/a%40b/"),
        ("::", 8888, "", "http://127.0.0.1:8888/a%40b/"),
        (" 127.0.0.1 ", 8888, "", "http://127.0.0.1:8888/a%40b/"),
        ("[::1]", 8888, "", "http://[::1]:8888/a%40b/"),
        ("jupyter.internal", 8888, "", "http://jupyter.internal:8888/a%40b/"),
    ],
)
def test_kernel_server_url(ip, port, certfile, expected):
    app = SimpleNamespace(ip=ip, port=port, certfile=certfile, base_url="/a%40b/", sock="")
    assert kernel_server_url(app) == expected


def test_kernel_server_url_on_a_unix_socket_or_before_binding():
    """A server on a UNIX socket has no TCP URL for kernels; nor has one whose port is not
    bound yet; a missing or empty base URL is "/"."""
    on_socket = SimpleNamespace(ip="", port=8888, certfile="", base_url="/", sock="/run/j.sock")
    assert kernel_server_url(on_socket) is None
    assert kernel_server_url(SimpleNamespace(port=8888)) == "http://127.0.0.1:8888/"
    assert kernel_server_url(SimpleNamespace(port=8888, base_url="", ip=None)) == (
        "http://127.0.0.1:8888/"
    )
    assert kernel_server_url(SimpleNamespace()) is None
    assert kernel_server_url(SimpleNamespace(port=None)) is None


async def test_kernels_get_the_key_and_url(dbx_app, jp_http_port, kernel_headers):
    assert os.environ[ENV_KEY] == kernel_headers["Authorization"].split(" ", 1)[1]
    assert os.environ[ENV_URL] == f"http://127.0.0.1:{jp_http_port}/a%40b/"
