"""The callback page: IdP errors in our words, state burnt by an IdP error, escaping."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from markupsafe import escape
from server_helpers import BASE_URL, sign_in_async

NASTY_USER = 'eve"><script>alert(1)</script>@example.com'
SCAM = 'Your account is locked. Call +1-555-0100 <b>now</b> & "verify"'


def _element(page: str, element_id: str, tag: str = "p") -> str:
    """The raw (still escaped) inner HTML of the `tag` element with `id`, or ""."""
    match = re.search(rf'<{tag}[^>]*id="{element_id}"[^>]*>(.*?)</{tag}>', page, re.S)
    return match.group(1) if match else ""


@pytest.fixture
def dbx_emulator(emulator_factory):
    """The default seed plus a user whose SCIM userName holds `"`, `<` and `>`."""
    from jupyter_dbx_auth.emulator.seed import default_seed

    seed = default_seed()
    seed["users"].append(
        {
            "id": "1000000000000099",
            "username": NASTY_USER,
            "display_name": "Eve <Example>",
            "password": "eve-demo-password",
            "account_admin": False,
        }
    )
    return emulator_factory(state=seed)


async def _callback_location(browser, emulator) -> str:
    r = await browser.post("dbx-auth/api/connections/ws/login")
    assert r.status_code == 200, r.text
    return await sign_in_async(
        r.json()["authorize_url"],
        "alice@example.com",
        emulator.user("alice@example.com")["password"],
    )


@pytest.mark.parametrize("error", ["access_denied", "server_error", "made_up_code"])
async def test_idp_free_text_is_shown_only_as_the_idps_words(browser, error):
    page = await browser.get(
        "dbx-auth/callback?" + urlencode({"error": error, "error_description": SCAM, "state": "x"})
    )
    assert page.status_code == 400
    text = page.text
    message = _element(text, "message")
    # Our own words say what happened; the IdP's text is not in them.
    assert message and "locked" not in message and "555" not in message
    assert "Databricks" in message
    # The IdP's text is there, escaped, under a label that says whose words they are.
    quoted = _element(text, "idp-text", "div")
    assert "own description" in quoted
    assert "Call +1-555-0100 &lt;b&gt;now&lt;/b&gt; &amp;" in quoted
    assert "<b>now</b>" not in text
    if error == "made_up_code":
        assert "made_up_code" in quoted and "made_up_code" not in message
    else:
        assert f"<code>{error}</code>" in _element(text, "code")
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


async def test_known_code_without_description_has_no_idp_section(browser):
    page = await browser.get("dbx-auth/callback?error=access_denied&state=x")
    assert page.status_code == 400
    assert 'id="idp-text"' not in page.text
    assert "declined" in _element(page.text, "message")


async def test_an_idp_error_burns_the_state(browser, emulator):
    """`?error=access_denied&state=S` ends that sign-in: the real code with S later must fail."""
    location = await _callback_location(browser, emulator)
    state = parse_qs(urlsplit(location).query)["state"][0]
    denied = await browser.get(
        "dbx-auth/callback?" + urlencode({"error": "access_denied", "state": state})
    )
    assert denied.status_code == 400
    late = await browser.http.get(location)  # a valid code and the same state
    assert late.status_code == 400, late.text
    assert "already used" in late.text
    listed = (await browser.get("dbx-auth/api/connections")).json()
    ws = next(c for c in listed["connections"] if c["name"] == "ws")
    assert ws["status"] != "ok"


async def test_success_page_escapes_identity_and_next(browser, dbx_emulator):
    """A SCIM userName and a `next` holding `"` and `<` come out escaped; the CSP holds."""
    next_url = f'{BASE_URL}lab/tree/a"b<c>.ipynb'
    r = await browser.post("dbx-auth/api/connections/ws/login", {"next": next_url})
    assert r.status_code == 200, r.text
    location = await sign_in_async(r.json()["authorize_url"], NASTY_USER, "eve-demo-password")
    page = await browser.http.get(location)
    assert page.status_code == 200, page.text
    text = page.text
    assert "<script>alert(1)" not in text and 'eve"' not in text
    # Jinja's escaping (`&#34;` for `"`): the identity and `next` appear only in that form.
    assert f"<strong>{escape(NASTY_USER)}</strong>" in text
    assert 'a"b<c>' not in text
    assert f'data-next="{escape(next_url)}"' in text
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'nonce-" in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    scripts = re.findall(r"<script([^>]*)>", text)
    assert scripts and all(f'nonce="{nonce}"' in attrs for attrs in scripts)
