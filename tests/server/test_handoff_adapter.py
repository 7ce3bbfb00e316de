"""`SignInFinish`: which way each sign-in ends, and the hand-off listening only while needed
(over real sockets, on a free port instead of 8020)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from test_localhost_handoff import free_port

from jupyter_dbx_auth.server.handoff_adapter import SignInFinish
from jupyter_dbx_auth.server.localhost_handoff import LocalhostHandoff

PUBLIC = "http://localhost:8020"


class Service:  # what SignInFinish uses of AuthService: the sign-in-ended notification
    def __init__(self) -> None:
        self.listeners: list[Callable[[str], None]] = []
        self.noted: dict[str, tuple[str, dict[str, Any]]] = {}

    def note_sign_in(self, name: str, state: str, how: dict[str, Any]) -> None:
        self.noted[name] = (state, how)

    def on_login_end(self, listener: Callable[[str], None]) -> None:
        self.listeners.append(listener)


async def plan(finish: SignInFinish, state: str, **kw: Any) -> dict[str, Any]:
    args = {
        "connection": "ws",
        "authorize_url": f"https://dbc.example/oidc/v1/authorize?state={state}&x=1",
        "redirect_uri": PUBLIC,
        "host": "localhost:8888",
        "protocol": "http",
        "base_url": "/a%40b/",
        "ttl": 60.0,
        **kw,
    }
    return await finish.plan(**args)


async def wait_until(check: Callable[[], bool]) -> None:
    for _ in range(100):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_each_way_a_sign_in_ends() -> None:
    service = Service()
    finish = SignInFinish(service, LocalhostHandoff(port=free_port()))  # type: ignore[arg-type]
    try:
        custom = await plan(
            finish, "S0", redirect_uri="http://localhost:8888/a%40b/dbx-auth/callback"
        )
        assert custom == {"finish": "callback", "paste_prefix": None, "message": None}
        remote = await plan(finish, "S1", host="jupyter.example.test:8888")
        assert remote["finish"] == "paste" and remote["paste_prefix"] == PUBLIC + "/?"
        assert not finish.handoff.listening
        kernel = await plan(finish, "S2", authorize_url=None)
        assert kernel["finish"] == "paste"
        local = await plan(finish, "S3")
        assert local["finish"] == "handoff" and finish.handoff.listening
        assert finish.handoff.target_for("S3") == "http://localhost:8888/a%40b/dbx-auth/callback"
        assert service.noted["ws"] == ("S3", local)  # shown in the status while pending
        service.listeners[0]("S3")  # the sign-in completed, failed or was declined
        await wait_until(lambda: not finish.handoff.listening)
    finally:
        await finish.aclose()


async def test_an_expired_sign_in_closes_the_port() -> None:
    finish = SignInFinish(Service(), LocalhostHandoff(port=free_port()))  # type: ignore[arg-type]
    try:
        assert (await plan(finish, "S1", ttl=0.3))["finish"] == "handoff"
        await wait_until(lambda: not finish.handoff.listening)
    finally:
        await finish.aclose()
