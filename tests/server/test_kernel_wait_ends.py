"""`%dbx_connect` in a real kernel stops waiting as soon as the browser sign-in it asked for ends
without one — declined at Databricks, or cancelled in the sidebar — and says which, instead of
waiting out its timeout while the panel already says "not signed in"."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from server_helpers import open_sign_in_link, sign_in_async

ALICE = "alice@example.com"


async def run_connect(kernel, on_link) -> tuple[str, float]:
    """Run `%dbx_connect ws` (90 s timeout); `on_link()` plays the person once the link shows."""
    out: list[str] = []
    tasks: list[asyncio.Task[None]] = []

    def output(msg: dict[str, Any]) -> None:
        content = msg["content"]
        out.append(
            content.get("data", {}).get("text/plain")
            or content.get("text", "")
            or "\n".join(content.get("traceback", []))
            or content.get("evalue", "")
        )
        if "dbx-auth/login/ws" in out[-1] and not tasks:
            tasks.append(asyncio.create_task(on_link()))

    started = time.monotonic()
    await kernel.execute_interactive(
        "%load_ext jupyter_dbx_auth\n%dbx_connect ws --timeout 90", output_hook=output, timeout=120
    )
    took = time.monotonic() - started
    assert tasks, "".join(out)
    await tasks[0]
    return "".join(out), took


async def test_a_declined_sign_in_ends_the_notebooks_wait(kernel, browser, emulator):
    async def decline() -> None:
        authorize_url = await open_sign_in_link(browser)
        password = emulator.user(ALICE)["password"]
        location = await sign_in_async(authorize_url, ALICE, password, action="deny")
        assert "error=access_denied" in location
        await browser.http.get(location)

    said, took = await run_connect(kernel, decline)
    assert "The sign-in to ws did not complete: You declined the sign-in at Databricks." in said, (
        said
    )
    assert "Run %dbx_connect again" in said
    assert took < 45, took  # not its 90 s timeout


async def test_cancel_in_the_sidebar_ends_the_notebooks_wait(kernel, browser):
    async def cancel() -> None:
        r = await browser.post("dbx-auth/api/connections/ws/cancel")
        assert (r.json()["status"], r.json()["reason"]) == ("logged_out", "cancelled")

    said, took = await run_connect(kernel, cancel)
    assert (
        "The sign-in to ws did not complete: it was cancelled, or its window was closed." in said
    ), said
    assert took < 45, took
