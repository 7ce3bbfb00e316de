"""End to end: the live server, a cookie-jar "browser", a "kernel" client, the emulator."""

from __future__ import annotations

import asyncio
import html
import json
import re

from server_helpers import BASE_URL, ETL_SP, login, scim_me, sign_in_async


async def connection(client, name: str) -> dict:
    r = await client.get("dbx-auth/api/connections")
    assert r.status_code == 200, r.text
    return next(c for c in r.json()["connections"] if c["name"] == name)


async def test_u2m_login_then_kernel_token_works_at_databricks(browser, kernel_client, emulator):
    before = await connection(browser, "ws")
    assert before["status"] == "logged_out"
    r = await login(browser, emulator)
    assert r.status_code == 200, r.text
    assert "Signed in to ws" in r.text and "alice@example.com" in r.text
    assert r.headers["Cache-Control"] == "no-store"
    assert "script-src 'nonce-" in r.headers["Content-Security-Policy"]

    after = await connection(browser, "ws")
    assert after["status"] == "ok"
    assert after["identity"] == "alice@example.com"
    assert after["expires_at"] is not None

    r = await kernel_client.get("dbx-auth/api/token", params={"connection": "ws"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"access_token", "token_type", "expires_at", "host"}
    assert body["host"] == emulator.url
    me = await scim_me(emulator.url, body["access_token"])
    assert me.status_code == 200, me.text
    assert me.json()["userName"] == "alice@example.com"


async def test_login_started_by_kernel_completes_in_the_browser(browser, kernel_client, emulator):
    r = await kernel_client.post("dbx-auth/api/connections/ws/login", json={})
    assert r.status_code == 200, r.text
    login_url = r.json()["login_url"]
    assert r.json()["authorize_url"] is None
    assert login_url == f"{BASE_URL}dbx-auth/login/ws"
    # The link shows a page whose button POSTs (with _xsrf) to start the sign-in.
    page = await browser.http.get(f"http://{browser.http_host}{login_url}")
    assert page.status_code == 200, page.text
    form = {"_xsrf": browser.http.cookies.get("_xsrf")}
    start = await browser.http.post(f"http://{browser.http_host}{login_url}", data=form)
    assert start.status_code == 200, start.text
    authorize_url = html.unescape(re.search(r'id="authorize" href="([^"]+)"', start.text)[1])
    location = await sign_in_async(
        authorize_url, "bob@example.com", emulator.user("bob@example.com")["password"]
    )
    done = await browser.http.get(location)
    assert done.status_code == 200, done.text
    listed = (await kernel_client.get("dbx-auth/api/connections")).json()
    ws = next(c for c in listed["connections"] if c["name"] == "ws")
    assert (ws["status"], ws["identity"]) == ("ok", "bob@example.com")


async def test_m2m_with_a_saved_service_principal(browser, kernel_client, emulator):
    sp = emulator.service_principal(ETL_SP)
    etl = await connection(browser, "etl")
    assert etl["status"] == "logged_out"
    assert any("Credentials missing" in w for w in etl["warnings"])
    r = await kernel_client.get("dbx-auth/api/token", params={"connection": "etl"})
    assert r.status_code == 409 and "secret" in r.json()["message"]

    wrong = {"connection": "etl", "client_id": sp["client_id"], "client_secret": "emu-wrong"}
    r = await browser.post("dbx-auth/api/service-principals", wrong)
    assert r.status_code == 400, r.text
    assert r.json()["message"] and r.json()["hint"]
    assert (await browser.get("dbx-auth/api/service-principals")).json() == {
        "service_principals": []
    }

    good = {**wrong, "client_secret": sp["secret"], "label": "ETL", "expires_at": "2099-01-31"}
    r = await browser.post("dbx-auth/api/service-principals", good)
    assert r.status_code == 201, r.text
    assert sp["secret"] not in r.text
    assert r.json()["label"] == "ETL" and r.json()["has_secret"] is True

    listed = (await kernel_client.get("dbx-auth/api/service-principals")).json()
    assert [p["client_id"] for p in listed["service_principals"]] == [sp["client_id"]]
    assert sp["secret"] not in json.dumps(listed)
    assert (await connection(browser, "etl"))["status"] == "ok"

    r = await kernel_client.get("dbx-auth/api/token", params={"connection": "etl"})
    assert r.status_code == 200, r.text
    me = await scim_me(emulator.url, r.json()["access_token"])
    assert me.status_code == 200, me.text

    # A U2M connection may act as a stored service principal of the same workspace.
    r = await kernel_client.post(
        "dbx-auth/api/service-principals", json={**good, "connection": "ws"}
    )
    assert r.status_code == 201, r.text
    r = await kernel_client.get(
        "dbx-auth/api/token", params={"connection": "ws", "client_id": sp["client_id"]}
    )
    assert r.status_code == 200, r.text
    assert (await scim_me(emulator.url, r.json()["access_token"])).status_code == 200

    r = await browser.delete(
        "dbx-auth/api/service-principals", {"connection": "etl", "client_id": sp["client_id"]}
    )
    assert r.status_code == 204
    assert (await connection(browser, "etl"))["status"] == "logged_out"
    r = await browser.delete(
        "dbx-auth/api/service-principals", {"connection": "etl", "client_id": sp["client_id"]}
    )
    assert r.status_code == 404


async def test_logout_forgets_the_login(browser, kernel_client, emulator):
    await login(browser, emulator)
    r = await browser.post("dbx-auth/api/connections/ws/logout")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "logged_out"
    r = await kernel_client.get("dbx-auth/api/token", params={"connection": "ws"})
    assert r.status_code == 409
    assert r.json()["hint"]


async def test_events_stream_reports_the_login(browser, emulator, server_url):
    events: list[tuple[str, dict]] = []
    seen_ok = asyncio.Event()

    async def listen() -> None:
        async with browser.http.stream("GET", server_url + "dbx-auth/api/events") as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            name = ""
            async for line in r.aiter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
                    events.append((name, data))
                    if name == "status" and data.get("status") == "ok":
                        seen_ok.set()

    task = asyncio.create_task(listen())
    try:
        await asyncio.sleep(0.3)
        await login(browser, emulator)
        await asyncio.wait_for(seen_ok.wait(), 10)
    finally:
        task.cancel()
    assert events[0][0] == "snapshot"
    ok = [d for n, d in events if n == "status" and d["status"] == "ok"]
    assert ok[-1]["name"] == "ws" and ok[-1]["identity"] == "alice@example.com"
    assert "access_token" not in json.dumps(events)


async def test_next_is_kept_for_after_the_login(browser, emulator):
    target = f"{BASE_URL}lab/tree/notebook.ipynb"
    r = await browser.post("dbx-auth/api/connections/ws/login", {"next": target})
    assert r.status_code == 200, r.text
    location = await sign_in_async(
        r.json()["authorize_url"],
        "alice@example.com",
        emulator.user("alice@example.com")["password"],
    )
    done = await browser.http.get(location)
    assert done.status_code == 200
    assert f'data-next="{target}"' in done.text


async def test_a_service_principal_saved_beside_a_user_login_leaves_its_status_alone(
    browser, emulator
):
    sp = emulator.service_principal(ETL_SP)
    body = {"connection": "ws", "client_id": sp["client_id"], "client_secret": sp["secret"]}
    r = await browser.post("dbx-auth/api/service-principals", body)
    assert r.status_code == 201, r.text
    listed = (await browser.get("dbx-auth/api/connections")).json()["connections"]
    ws = next(c for c in listed if c["name"] == "ws")
    assert ws["status"] == "logged_out"  # nobody signed in: a stored SP does not change that
