from __future__ import annotations

from server_helpers import login


async def test_version(jp_fetch):
    r = await jp_fetch("dbx-auth", "api", "version")
    assert r.code == 200


async def test_u2m_login_end_to_end(browser, emulator):
    r = await login(browser, emulator)
    assert r.status_code == 200, r.text
    r = await browser.get("dbx-auth/api/connections")
    ws = next(c for c in r.json()["connections"] if c["name"] == "ws")
    assert ws["status"] == "ok"
    assert ws["identity"] == "alice@example.com"
