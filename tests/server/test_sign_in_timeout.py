"""A sign-in nobody finishes ends by itself when its time (`login_ttl`) is up: the connection goes
back to what it showed before and says why, instead of "waiting for the sign-in" for ever (the
window left on a Databricks page, a pasted address that never comes, a reloaded JupyterLab)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from server_helpers import login, sign_in_async

TTL = 2.0
ENDED = "The sign-in was not finished within 2 seconds."


@pytest.fixture
def dbx_extra_config():
    return {"login_ttl": TTL}


async def ws(browser) -> dict:
    r = await browser.get("dbx-auth/api/connections")
    assert r.status_code == 200, r.text
    return next(c for c in r.json()["connections"] if c["name"] == "ws")


async def wait_until_not_pending(browser, within: float) -> tuple[dict, float]:
    start = time.monotonic()
    while time.monotonic() - start < within:
        conn = await ws(browser)
        if conn["status"] != "login_pending":
            return conn, time.monotonic() - start
        await asyncio.sleep(0.1)
    raise AssertionError(f"still pending after {within} s")


async def test_an_unfinished_sign_in_ends_when_its_time_is_up(browser, emulator, tmp_path):
    r = await browser.post("dbx-auth/api/connections/ws/login")
    authorize_url = r.json()["authorize_url"]
    assert (await ws(browser))["status"] == "login_pending"

    conn, waited = await wait_until_not_pending(browser, within=TTL + 10)
    assert (conn["status"], conn["reason"], conn["message"]) == ("logged_out", "cancelled", ENDED)
    assert waited >= TTL - 0.5  # not before its time

    # Finished at Databricks after all: the callback refuses it as expired, and nothing changes.
    password = emulator.user("alice@example.com")["password"]
    location = await sign_in_async(authorize_url, "alice@example.com", password)
    page = await browser.http.get(location)
    assert page.status_code == 400
    assert "took too long and expired" in page.text
    assert (await ws(browser))["status"] == "logged_out"
    events = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert [e["outcome"] for e in events if e["event"] == "login"][:2] == ["started", "timed_out"]


async def test_a_newer_sign_in_keeps_the_connection_waiting(browser):
    await browser.post("dbx-auth/api/connections/ws/login")
    await asyncio.sleep(TTL * 0.75)
    second = time.monotonic()
    await browser.post("dbx-auth/api/connections/ws/login")  # a second tab, or "Log in" again
    await asyncio.sleep(TTL * 0.75)  # the first one's time is up now, the second's is not
    conn, _ = await wait_until_not_pending(browser, within=TTL + 10)
    # Ended by the second one's timer (TTL + 1 s after it), not the first's (0.5 s after it).
    assert time.monotonic() - second >= TTL + 0.5
    assert (conn["status"], conn["message"]) == ("logged_out", ENDED)


async def test_a_finished_sign_in_is_not_undone_by_its_timer(browser, emulator):
    assert (await login(browser, emulator)).status_code == 200
    await asyncio.sleep(TTL + 1.5)
    conn = await ws(browser)
    assert (conn["status"], conn["reason"]) == ("ok", None)


async def test_a_sign_in_started_while_signed_in_goes_back_to_signed_in(browser, emulator):
    assert (await login(browser, emulator)).status_code == 200
    await browser.post("dbx-auth/api/connections/ws/login")  # to switch user, then forgotten
    conn, _ = await wait_until_not_pending(browser, within=TTL + 10)
    assert (conn["status"], conn["message"]) == ("ok", ENDED)
