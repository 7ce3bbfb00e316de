"""The localhost:8020 hand-off, over real sockets on both loopback addresses."""

from __future__ import annotations

import asyncio
import logging
import socket

import httpx
import pytest

from jupyter_dbx_auth.server.localhost_handoff import (
    PORT,
    LocalhostHandoff,
    is_public_app_redirect,
)

TARGET = "http://localhost:8888/a%40b/dbx-auth/callback"


def free_port() -> int:
    """A port free on both loopback families (checked, not assumed)."""
    for _ in range(20):
        with socket.socket() as v4:
            v4.bind(("127.0.0.1", 0))
            port = v4.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET6) as v6:
                    v6.bind(("::1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no port free on both loopback addresses")


@pytest.fixture
async def handoff():
    owner = LocalhostHandoff(port=free_port())
    yield owner
    await owner.aclose()


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(follow_redirects=False, timeout=5) as client:
        return await client.get(url)


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]"])
async def test_a_pending_sign_in_is_handed_on_with_the_query_intact(handoff, host) -> None:
    assert await handoff.expect("S1", TARGET, ttl=60)
    reply = await get(f"http://{host}:{handoff.port}/?code=C%2B1&state=S1&extra=x")
    assert reply.status_code == 302
    assert reply.headers["location"] == f"{TARGET}?code=C%2B1&state=S1&extra=x"
    assert reply.headers["cache-control"] == "no-store"


async def test_a_declined_sign_in_is_handed_on_too(handoff) -> None:
    await handoff.expect("S1", TARGET, ttl=60)
    reply = await get(f"http://127.0.0.1:{handoff.port}/?error=access_denied&state=S1")
    assert reply.headers["location"] == f"{TARGET}?error=access_denied&state=S1"


@pytest.mark.parametrize(
    "query", ["code=C&state=OTHER", "code=C", "code=C&state=S1&state=S2", "state="]
)
async def test_an_unknown_state_gets_a_page_that_says_what_to_do(handoff, query) -> None:
    await handoff.expect("S1", TARGET, ttl=60)
    reply = await get(f"http://127.0.0.1:{handoff.port}/?{query}")
    assert reply.status_code == 400
    assert "location" not in reply.headers
    assert "paste it into that Jupyter" in reply.text


async def test_other_paths_are_not_served(handoff) -> None:
    await handoff.expect("S1", TARGET, ttl=60)
    reply = await get(f"http://127.0.0.1:{handoff.port}/dbx-auth/callback?code=C&state=S1")
    assert reply.status_code == 404


async def test_an_expired_sign_in_is_not_handed_on(handoff) -> None:
    await handoff.expect("S1", TARGET, ttl=0.2)
    await asyncio.sleep(0.4)
    reply = await get(f"http://127.0.0.1:{handoff.port}/?code=C&state=S1")
    assert reply.status_code == 400


async def test_the_port_closes_with_the_last_pending_sign_in(handoff) -> None:
    await handoff.expect("S1", TARGET, ttl=60)
    await handoff.expect("S2", TARGET, ttl=60)
    await handoff.forget("S1")
    assert handoff.listening
    assert (await get(f"http://127.0.0.1:{handoff.port}/?code=C&state=S2")).status_code == 302
    await handoff.forget("S2")
    assert not handoff.listening
    with pytest.raises(httpx.ConnectError):
        await get(f"http://127.0.0.1:{handoff.port}/?code=C&state=S2")


async def test_a_busy_port_is_reported_not_raised(handoff, caplog) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", handoff.port))
        squatter.listen()
        with caplog.at_level(logging.WARNING):
            assert await handoff.expect("S1", TARGET, ttl=60) is False
        assert not handoff.listening
        assert "in use by another program" in caplog.text
    # Once the other program is gone, the next sign-in gets the hand-off.
    assert await handoff.expect("S2", TARGET, ttl=60) is True


async def test_the_code_never_reaches_the_log(handoff, caplog) -> None:
    await handoff.expect("S1", TARGET, ttl=60)
    with caplog.at_level(logging.DEBUG):
        await get(f"http://127.0.0.1:{handoff.port}/?code=CODE-CANARY&state=S1")
        await get(f"http://127.0.0.1:{handoff.port}/?code=CODE-CANARY&state=nope")
    # httpx logs the URL it fetched (the browser's side); the server's own records must not.
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("jupyter_dbx_auth")]
    ours += [r.getMessage() for r in caplog.records if r.name.startswith("tornado")]
    assert not [line for line in ours if "CODE-CANARY" in line]
    assert "handoff 302 GET /" in ours


async def test_it_listens_on_loopback_only(handoff) -> None:
    await handoff.expect("S1", TARGET, ttl=60)
    addresses = {sock.getsockname()[0] for sock in handoff._server._sockets.values()}
    assert addresses == {"127.0.0.1", "::1"}


async def test_the_real_port_8020() -> None:
    owner = LocalhostHandoff()
    try:
        if not await owner.expect("S1", TARGET, ttl=60):
            pytest.skip("port 8020 is in use on this machine")
        reply = await get("http://localhost:8020/?code=C&state=S1")
        assert reply.headers["location"] == f"{TARGET}?code=C&state=S1"
    finally:
        await owner.aclose()


def test_the_public_app_redirect_is_recognised() -> None:
    assert is_public_app_redirect("http://localhost:8020")
    assert is_public_app_redirect("http://localhost:8020/")
    assert PORT == 8020
    for other in (
        "http://127.0.0.1:8020",
        "http://localhost:8021",
        "https://localhost:8020",
        "http://localhost:8020/callback",
    ):
        assert not is_public_app_redirect(other)
