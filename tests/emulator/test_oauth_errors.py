"""Every error path of authorize and token gives the right RFC 6749 error, never a 500."""

from __future__ import annotations

import pytest
from browser import SignInFailed, sign_in

from .helpers import (
    CLI,
    DEMO_REDIRECT,
    LOOPBACK_REDIRECT,
    authorize_url,
    http,
    pkce_pair,
    query,
    token_url,
)

ALICE = ("alice@example.com", "alice-demo-password")


def confidential_app(emu) -> dict:
    return next(a for a in emu.config["oauth_apps"] if a["confidential"])


def get_code(emu, *, client_id=CLI, redirect=LOOPBACK_REDIRECT, scope="all-apis offline_access"):
    verifier, challenge = pkce_pair()
    url = authorize_url(
        emu, client_id=client_id, redirect_uri=redirect, challenge=challenge, scope=scope
    )
    return query(sign_in(url, *ALICE))["code"], verifier


def redeem(emu, code, verifier, *, client_id=CLI, redirect=LOOPBACK_REDIRECT, auth=None, **extra):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect,
        "code_verifier": verifier,
        **extra,
    }
    if auth is None:
        data["client_id"] = client_id
    with http() as c:
        return c.post(token_url(emu), data=data, auth=auth)


def assert_error(response, error, status=400):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"] == error
    assert response.headers["Cache-Control"] == "no-store"


def test_bad_verifier(emulator):
    code, _ = get_code(emulator)
    assert_error(redeem(emulator, code, pkce_pair()[0]), "invalid_grant")


def test_code_is_single_use_even_after_a_failed_attempt(emulator):
    code, verifier = get_code(emulator)
    assert_error(redeem(emulator, code, pkce_pair()[0]), "invalid_grant")
    assert_error(redeem(emulator, code, verifier), "invalid_grant")


def test_reused_code(emulator):
    code, verifier = get_code(emulator)
    assert redeem(emulator, code, verifier).status_code == 200
    assert_error(redeem(emulator, code, verifier), "invalid_grant")


def test_expired_code(emulator):
    code, verifier = get_code(emulator)
    emulator.set_clock_offset(301)
    assert_error(redeem(emulator, code, verifier), "invalid_grant")


def test_code_for_another_client(emulator):
    app = confidential_app(emulator)
    code, verifier = get_code(emulator, client_id=app["client_id"], redirect=DEMO_REDIRECT)
    # databricks-cli authenticates fine, but the code was issued to the other app.
    assert_error(redeem(emulator, code, verifier, redirect=DEMO_REDIRECT), "invalid_grant")


def test_token_redirect_mismatch(emulator):
    code, verifier = get_code(emulator)
    assert_error(
        redeem(emulator, code, verifier, redirect="http://localhost:9999/other"), "invalid_grant"
    )


def test_confidential_app_must_authenticate(emulator):
    app = confidential_app(emulator)
    code, verifier = get_code(emulator, client_id=app["client_id"], redirect=DEMO_REDIRECT)
    no_secret = redeem(emulator, code, verifier, client_id=app["client_id"], redirect=DEMO_REDIRECT)
    assert_error(no_secret, "invalid_client", 401)
    code, verifier = get_code(emulator, client_id=app["client_id"], redirect=DEMO_REDIRECT)
    ok = redeem(
        emulator,
        code,
        verifier,
        redirect=DEMO_REDIRECT,
        auth=(app["client_id"], app["client_secret"]),
    )
    assert ok.status_code == 200


def test_bad_secret(emulator):
    app = confidential_app(emulator)
    code, verifier = get_code(emulator, client_id=app["client_id"], redirect=DEMO_REDIRECT)
    wrong = redeem(emulator, code, verifier, redirect=DEMO_REDIRECT, auth=(app["client_id"], "x"))
    assert_error(wrong, "invalid_client", 401)


def test_no_refresh_token_without_offline_access(emulator):
    code, verifier = get_code(emulator, scope="all-apis")
    body = redeem(emulator, code, verifier).json()
    assert body["access_token"] and "refresh_token" not in body


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "invalid_request"),
        ({"grant_type": "password", "username": "a", "password": "b"}, "unsupported_grant_type"),
        ({"grant_type": "implicit"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "client_id": CLI}, "invalid_request"),
        (
            {"grant_type": "authorization_code", "client_id": "nobody", "code": "x"},
            "invalid_client",
        ),
        ({"grant_type": "refresh_token", "client_id": CLI}, "invalid_request"),
        ({"grant_type": "refresh_token", "client_id": CLI, "refresh_token": "x"}, "invalid_grant"),
        ({"grant_type": "client_credentials"}, "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": CLI}, "invalid_client"),
        (
            {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange"},
            "invalid_request",
        ),
        (
            {
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "subject_token": "not-a-jwt",
                "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            },
            "invalid_request",
        ),
    ],
)
def test_token_endpoint_missing_and_wrong_parameters(emulator, data, error):
    with http() as c:
        response = c.post(token_url(emulator), data=data)
    assert response.status_code in (400, 401)
    assert response.json()["error"] == error


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
        (b'{"grant_type": "client_credentials"}', "application/json"),
        (
            b"grant_type=client_credentials&grant_type=refresh_token",
            "application/x-www-form-urlencoded",
        ),
        (b"%%%===&&&", "application/x-www-form-urlencoded"),
        (b"", "text/plain"),
    ],
)
def test_token_endpoint_garbage_bodies(emulator, content, content_type):
    with http() as c:
        response = c.post(
            token_url(emulator), content=content, headers={"Content-Type": content_type}
        )
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_request", "unsupported_grant_type")


def test_malformed_basic_header(emulator):
    with http() as c:
        response = c.post(
            token_url(emulator),
            data={"grant_type": "client_credentials"},
            headers={"Authorization": "Basic %%%not-base64"},
        )
    assert_error(response, "invalid_client", 401)


def test_authorize_unknown_client_and_bad_redirect_answer_json_without_redirect(emulator):
    _, challenge = pkce_pair()
    app = confidential_app(emulator)
    with http() as c:
        for url in (
            authorize_url(emulator, client_id="nobody", challenge=challenge),
            authorize_url(emulator, client_id=app["client_id"], challenge=challenge),  # loopback
            authorize_url(emulator, redirect_uri="https://evil.example/cb", challenge=challenge),
            authorize_url(
                emulator, redirect_uri="http://localhost.evil.example/", challenge=challenge
            ),
        ):
            page = c.get(url)
            assert page.status_code == 400, url
            assert "Location" not in page.headers
            assert page.headers["Content-Type"] == "application/json"
            assert page.json()["error"] in ("invalid_client", "invalid_request"), page.text
            assert "Traceback" not in page.text


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"scope": "all-apis admin"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_authorize_errors_redirect_when_redirect_uri_is_valid(emulator, overrides, error):
    _, challenge = pkce_pair()
    params = {"challenge": challenge, **overrides}
    location = sign_in(authorize_url(emulator, **params), *ALICE)
    got = query(location)
    assert location.startswith(LOOPBACK_REDIRECT)
    assert got["error"] == error and got["state"] == "st-123"


def test_user_denies_consent(emulator):
    _, challenge = pkce_pair()
    location = sign_in(authorize_url(emulator, challenge=challenge), *ALICE, action="deny")
    got = query(location)
    assert (got["error"], got["state"]) == ("access_denied", "st-123") and "code" not in got


def test_unknown_user_is_refused(emulator):
    _, challenge = pkce_pair()
    with pytest.raises(SignInFailed):
        sign_in(authorize_url(emulator, challenge=challenge), "mallory@example.com", "x")


def test_workspace_code_is_useless_at_the_account_token_endpoint(emulator):
    verifier, challenge = pkce_pair()
    location = sign_in(authorize_url(emulator, challenge=challenge, account=False), *ALICE)
    response = redeem(emulator, query(location)["code"], verifier)
    assert_error(response, "invalid_grant")


def test_revoked_user_cannot_refresh(emulator):
    code, verifier = get_code(emulator)
    refresh = redeem(emulator, code, verifier).json()["refresh_token"]
    emulator.revoke("alice@example.com")
    with http() as c:
        response = c.post(
            token_url(emulator),
            data={"grant_type": "refresh_token", "refresh_token": refresh, "client_id": CLI},
        )
    assert_error(response, "invalid_grant")
