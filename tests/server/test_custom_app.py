"""A custom confidential OAuth app with a fixed redirect URL, as behind the JupyterHub relay."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from server_helpers import sign_in_async

APP_CLIENT_ID = "7c0b5e0e-1111-4a1a-8a1a-00000000c001"
RELAY_URL = "http://127.0.0.1:8888/dbx-auth/callback"  # registered with the emulator's app


@pytest.fixture
def dbx_extra_config(emulator):
    app = next(a for a in emulator.config["oauth_apps"] if a["client_id"] == APP_CLIENT_ID)
    return {
        "oauth_client_id": APP_CLIENT_ID,
        "oauth_client_secret": app["client_secret"],
        "redirect_url": RELAY_URL,
    }


async def test_fixed_redirect_url_and_confidential_app(browser, emulator, caplog):
    r = await browser.post("dbx-auth/api/connections/ws/login")
    assert r.status_code == 200, r.text
    query = parse_qs(urlsplit(r.json()["authorize_url"]).query)
    assert query["client_id"] == [APP_CLIENT_ID]
    assert query["redirect_uri"] == [RELAY_URL]
    assert query["code_challenge_method"] == ["S256"]
    location = await sign_in_async(
        r.json()["authorize_url"],
        "alice@example.com",
        emulator.user("alice@example.com")["password"],
    )
    assert location.startswith(RELAY_URL + "?")
    # The relay forwards the browser to this user's server with the query string intact.
    relayed = browser.server_url + "dbx-auth/callback?" + urlsplit(location).query
    page = await browser.http.get(relayed)
    assert page.status_code == 200, page.text
    listed = (await browser.get("dbx-auth/api/connections")).json()["connections"]
    ws = next(c for c in listed if c["name"] == "ws")
    assert (ws["status"], ws["identity"]) == ("ok", "alice@example.com")
    assert ws["client_id"] == APP_CLIENT_ID
    app_secret = next(a for a in emulator.config["oauth_apps"] if a["client_id"] == APP_CLIENT_ID)[
        "client_secret"
    ]
    assert app_secret not in caplog.text and app_secret not in page.text
