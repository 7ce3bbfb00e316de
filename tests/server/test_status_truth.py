"""The status the sidebar shows is true: not signed in vs expired, declined, cancelled, waiting,
and where a service principal's secret comes from (issue 14)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from server_helpers import ETL_SP, login, sign_in_async

from jupyter_dbx_auth.core.oauth.tokens import fingerprint
from jupyter_dbx_auth.core.secret import Secret


async def connection(client, name: str) -> dict:
    r = await client.get("dbx-auth/api/connections")
    assert r.status_code == 200, r.text
    return next(c for c in r.json()["connections"] if c["name"] == name)


async def test_never_signed_in_and_after_logout_is_not_signed_in_not_expired(
    browser, kernel_client, emulator
):
    ws = await connection(browser, "ws")
    assert (ws["status"], ws["reason"]) == ("logged_out", "not_signed_in")
    # A kernel asking for a token of a connection nobody signed in to: still "not signed in".
    r = await kernel_client.get("dbx-auth/api/token", params={"connection": "ws"})
    assert r.status_code == 409 and r.json()["error"] == "LoginRequired"
    ws = await connection(browser, "ws")
    assert (ws["status"], ws["reason"]) == ("logged_out", "not_signed_in")

    assert (await login(browser, emulator)).status_code == 200
    r = await browser.post("dbx-auth/api/connections/ws/logout")
    assert (r.json()["status"], r.json()["reason"]) == ("logged_out", "not_signed_in")
    await kernel_client.get("dbx-auth/api/token", params={"connection": "ws"})
    ws = await connection(browser, "ws")
    assert (ws["status"], ws["reason"]) == ("logged_out", "not_signed_in")


async def test_a_refused_refresh_is_expired(browser, kernel_client, emulator):
    assert (await login(browser, emulator)).status_code == 200
    r = await kernel_client.get("dbx-auth/api/token", params={"connection": "ws"})
    refused = fingerprint(Secret(r.json()["access_token"]))
    emulator.revoke("alice@example.com")
    r = await kernel_client.get(
        "dbx-auth/api/token", params={"connection": "ws", "refresh": "1", "rejected": refused}
    )
    assert r.status_code == 409, r.text
    ws = await connection(browser, "ws")
    assert (ws["status"], ws["reason"]) == ("login_required", "expired")


async def test_deny_at_the_sign_in_page_is_declined_at_once(browser, emulator):
    r = await browser.post("dbx-auth/api/connections/ws/login")
    assert (await connection(browser, "ws"))["status"] == "login_pending"
    password = emulator.user("alice@example.com")["password"]
    location = await sign_in_async(
        r.json()["authorize_url"], "alice@example.com", password, action="deny"
    )
    assert "error=access_denied" in location
    page = await browser.http.get(location)
    assert page.status_code == 400 and "declined" in page.text
    ws = await connection(browser, "ws")
    assert (ws["status"], ws["reason"]) == ("logged_out", "declined")
    assert "declined" in ws["message"]


async def test_a_declined_sign_in_of_a_signed_in_connection_keeps_it_signed_in(browser, emulator):
    assert (await login(browser, emulator)).status_code == 200
    r = await browser.post("dbx-auth/api/connections/ws/login")
    password = emulator.user("alice@example.com")["password"]
    location = await sign_in_async(
        r.json()["authorize_url"], "alice@example.com", password, action="deny"
    )
    await browser.http.get(location)
    ws = await connection(browser, "ws")
    assert (ws["status"], ws["reason"], ws["identity"]) == ("ok", "declined", "alice@example.com")


@pytest.mark.parametrize(
    ("error", "shown"),
    [("server_error", "(server_error)"), ("<b>x</b> y", "(unknown error)")],
)
async def test_another_idp_error_ends_the_sign_in_and_shows_only_a_code(browser, error, shown):
    r = await browser.post("dbx-auth/api/connections/ws/login")
    state = parse_qs(urlsplit(r.json()["authorize_url"]).query)["state"][0]
    # An unknown state changes nothing: the sign-in stays pending.
    page = await browser.get("dbx-auth/callback", params={"state": "x" * 43, "error": error})
    assert page.status_code == 400
    assert (await connection(browser, "ws"))["status"] == "login_pending"
    page = await browser.get("dbx-auth/callback", params={"state": state, "error": error})
    assert page.status_code == 400
    ws = await connection(browser, "ws")
    assert (ws["status"], ws["reason"]) == ("logged_out", "cancelled")
    assert ws["message"] == f"Databricks refused the sign-in {shown}."


async def test_cancel_a_pending_sign_in(browser, kernel_client, emulator):
    r = await browser.post("dbx-auth/api/connections/ws/login")
    authorize_url = r.json()["authorize_url"]
    r = await browser.post("dbx-auth/api/connections/ws/cancel")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["reason"]) == ("logged_out", "cancelled")
    # The cancelled sign-in's state no longer works.
    password = emulator.user("alice@example.com")["password"]
    location = await sign_in_async(authorize_url, "alice@example.com", password)
    page = await browser.http.get(location)
    assert page.status_code == 400
    assert (await connection(browser, "ws"))["status"] == "logged_out"
    # Unknown connection: 404 with the configuration this server reads.
    r = await browser.post("dbx-auth/api/connections/nope/cancel")
    assert r.status_code == 404 and "c.DatabricksAuth.connections" in r.json()["hint"]


async def test_cancel_after_a_completed_sign_in_changes_nothing(browser, emulator):
    """The sign-in window closes itself on success; a late Cancel must not undo the status."""
    assert (await login(browser, emulator)).status_code == 200
    r = await browser.post("dbx-auth/api/connections/ws/cancel")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["reason"]) == ("ok", None)


async def test_a_kernel_waiting_for_a_sign_in_shows_as_waiting(browser, kernel_client, emulator):
    r = await kernel_client.post("dbx-auth/api/connections/ws/login", json={})
    assert r.status_code == 200, r.text
    ws = await connection(browser, "ws")
    assert (ws["status"], ws["reason"]) == ("login_pending", "kernel_waiting")
    r = await browser.post("dbx-auth/api/connections/ws/cancel")
    assert (r.json()["status"], r.json()["reason"]) == ("logged_out", "cancelled")


async def test_service_principal_credentials_say_where_they_come_from(browser, emulator):
    etl = await connection(browser, "etl")
    assert etl["credentials"] == "missing"
    assert (await connection(browser, "ws"))["credentials"] is None
    sp = emulator.service_principal(ETL_SP)
    body = {"connection": "etl", "client_id": sp["client_id"], "client_secret": sp["secret"]}
    r = await browser.post("dbx-auth/api/service-principals", body)
    assert r.status_code in (200, 201), r.text
    assert (await connection(browser, "etl"))["credentials"] == "stored"


@pytest.fixture
def cfg_file(tmp_path, monkeypatch):
    path = tmp_path / "demo-databrickscfg"
    path.write_text("[other]\nhost = https://adb-1.cloud.databricks.com\n")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(path))
    return path


@pytest.mark.parametrize("dbx_extra_config", [{"include_profiles": True}])
async def test_unknown_connection_names_the_config_file_in_use(cfg_file, browser):
    r = await browser.post("dbx-auth/api/connections/nope/login")
    assert r.status_code == 404
    assert str(cfg_file) in r.json()["hint"] and "~/.databrickscfg" not in r.json()["hint"]
