"""Hypothesis fuzz of authorize and token parameters: never a 500, always an RFC-shaped answer."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import CLI, LOOPBACK_REDIRECT, account_oidc

FUZZ = settings(
    max_examples=120,
    database=None,  # no .hypothesis/ directory in the checkout
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
text = st.text(max_size=80)
interesting = st.one_of(
    text,
    st.sampled_from(
        [
            CLI,
            LOOPBACK_REDIRECT,
            "code",
            "S256",
            "plain",
            "all-apis offline_access",
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:token-exchange",
            'http://localhost:1/"<script>',
            "\x00",
            "é" * 10,
        ]
    ),
)
AUTHORIZE_KEYS = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
]
TOKEN_KEYS = [
    "grant_type",
    "code",
    "redirect_uri",
    "client_id",
    "client_secret",
    "code_verifier",
    "refresh_token",
    "scope",
    "subject_token",
    "subject_token_type",
]


@pytest.fixture(scope="module")
def client(emulator_session):
    emulator_session.reset()
    with httpx.Client(trust_env=False, timeout=10) as c:
        yield c


def params_for(keys):
    return st.lists(st.tuples(st.sampled_from(keys) | text, interesting), max_size=9)


@FUZZ
@given(params=params_for(AUTHORIZE_KEYS), post=st.booleans())
def test_authorize_never_500(emulator_session, client, params, post):
    url = f"{account_oidc(emulator_session)}/v1/authorize"
    if post:
        response = client.post(url, params=params, data={"username": "a", "password": "b"})
    else:
        response = client.get(url, params=params)
    assert response.status_code in (200, 302, 400, 401), response.text
    assert "Traceback" not in response.text
    if response.status_code == 302:
        assert response.headers["Location"].startswith(("http://localhost", "http://127.0.0.1"))


@FUZZ
@given(
    params=params_for(TOKEN_KEYS),
    basic=st.none() | st.tuples(interesting, interesting),
    raw=st.none() | st.binary(max_size=60),
)
def test_token_never_500(emulator_session, client, params, basic, raw):
    url = f"{account_oidc(emulator_session)}/v1/token"
    if raw is not None:
        response = client.post(
            url, content=raw, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
    else:
        response = client.post(url, data=dict(params), auth=basic)
    assert response.status_code in (200, 400, 401), response.text
    body = response.json()
    assert "error" in body or "access_token" in body


def test_fuzzing_left_no_traceback_in_the_emulator_log(emulator_session):
    """The endpoints catch everything, but log what they catch: a logged traceback is a bug."""
    assert "Traceback" not in emulator_session.log()
