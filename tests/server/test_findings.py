"""Security findings 3, 4, 6 and 8 of issue 9, each through the running server (or the service)."""

from __future__ import annotations

import pytest
from server_helpers import BASE_URL, ETL_SP, login

from jupyter_dbx_auth.core.oauth.tokens import fingerprint
from jupyter_dbx_auth.core.secret import Secret


@pytest.fixture
def dbx_extra_config():
    return {"max_pending_logins": 2, "max_pending_logins_per_client": 4, "login_ttl": 3600.0}


async def test_3_one_client_cannot_fill_the_sign_in_table(browser_factory, dbx_app):
    # Each cookie jar is another Jupyter user (an anonymous user per request on a token-less
    # server): the per-user bound alone never stops them; the per-client bound does.
    replies = []
    for _ in range(6):
        browser = await browser_factory()
        replies.append(await browser.post("dbx-auth/api/connections/ws/login"))
    assert [r.status_code for r in replies] == [200] * 4 + [429] * 2
    body = replies[-1].json()
    assert "Too many sign-ins" in body["message"] and body["hint"]
    assert body["error"] == "TooManyLogins"
    assert int(replies[-1].headers["Retry-After"]) > 0
    assert len(dbx_app.service.pending) == 4


async def test_login_ttl_above_600_s_is_honoured(browser, dbx_app):
    r = await browser.post("dbx-auth/api/connections/ws/login")
    assert r.status_code == 200
    assert dbx_app.service.pending.ttl == 3600.0  # not cut to 600 s anywhere
    (entry,) = dbx_app.service.pending._entries.values()
    pending = dbx_app.service.pending
    real = pending._clock
    pending._clock = lambda: real() + 601  # past the old hard-coded 600 s, within 3600 s
    try:
        assert pending.take(entry.user, entry.pending.state) is entry
    finally:
        pending._clock = real


async def test_4_a_forced_refresh_needs_the_refused_tokens_fingerprint(
    browser, kernel_client, emulator
):
    await login(browser, emulator)
    first = (await kernel_client.get("dbx-auth/api/token", params={"connection": "ws"})).json()
    before = emulator.token_requests().get("refresh_token", 0)
    for params in ({"refresh": "1"}, {"refresh": "true"}):
        r = await kernel_client.get("dbx-auth/api/token", params={"connection": "ws", **params})
        assert r.status_code == 400 and "rejected" in r.json()["message"]
    assert emulator.token_requests().get("refresh_token", 0) == before
    refused = fingerprint(Secret(first["access_token"]))
    params = {"connection": "ws", "refresh": "1", "rejected": refused}
    second = await kernel_client.get("dbx-auth/api/token", params=params)
    assert second.status_code == 200 and second.json()["access_token"] != first["access_token"]
    # The new token reported at once too: rate-limited per connection, no refresh.
    params["rejected"] = fingerprint(Secret(second.json()["access_token"]))
    third = await kernel_client.get("dbx-auth/api/token", params=params)
    assert third.status_code == 429 and third.json()["error"] == "TooManyRequests"
    assert int(third.headers["Retry-After"]) > 0
    assert emulator.token_requests().get("refresh_token", 0) == before + 1


async def test_6_deleting_unknown_service_principals_leaves_no_files(
    browser, dbx_app, tmp_path, emulator
):
    store_dir = tmp_path / "store"
    sp = emulator.service_principal(ETL_SP)
    r = await browser.post(
        "dbx-auth/api/service-principals",
        {"connection": "etl", "client_id": sp["client_id"], "client_secret": sp["secret"]},
    )
    assert r.status_code == 201, r.text

    def files() -> set[str]:
        return {str(p.relative_to(store_dir)) for p in store_dir.rglob("*")}

    before = files()
    for i in range(20):
        r = await browser.delete(
            "dbx-auth/api/service-principals", {"connection": "etl", "client_id": f"nope-{i}"}
        )
        assert r.status_code == 404 and r.json()["message"]
    assert files() == before
    assert not any(name.endswith(".lock") and "nope" in name for name in files())


async def test_8_the_host_header_never_becomes_the_callback(dbx_app):
    service = dbx_app.service
    conn = service.get("ws")
    # Loopback names (laptop, SSH tunnel) are fine; anything else needs public_url.
    loop = service.redirect_uri(conn, protocol="http", host="localhost:8888", base_url=BASE_URL)
    assert loop == f"http://localhost:8888{BASE_URL}dbx-auth/callback"
    with pytest.raises(Exception) as err:
        service.redirect_uri(conn, protocol="https", host="evil.invalid", base_url=BASE_URL)
    assert "public_url" in err.value.hint and "evil.invalid" not in str(err.value)
