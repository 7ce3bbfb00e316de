"""Pure parts of the OAuth engine: PKCE, the authorize URL, token sets, the retry schedule.

No HTTP here; the engine's requests are tested against the emulator in test_oauth_engine.py.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import re
import urllib.parse

import httpx
import pytest

from jupyter_dbx_auth.core.errors import (
    ClientSecretRejected,
    LoginRequired,
    OAuthError,
    TransientOAuthError,
)
from jupyter_dbx_auth.core.oauth import pkce
from jupyter_dbx_auth.core.oauth.authorize import start_authorization
from jupyter_dbx_auth.core.oauth.retry import (
    RetryPolicy,
    parse_retry_after,
    raise_for_oauth_error,
    send_with_retry,
)
from jupyter_dbx_auth.core.oauth.tokens import TokenSet
from jupyter_dbx_auth.core.secret import Secret


def test_pkce_verifier_and_s256_challenge() -> None:
    verifier = pkce.new_verifier()
    raw = verifier.reveal()
    assert re.fullmatch(r"[A-Za-z0-9\-._~]{64}", raw)
    expected = base64.urlsafe_b64encode(hashlib.sha256(raw.encode()).digest()).rstrip(b"=")
    assert pkce.challenge(verifier) == expected.decode()
    assert pkce.new_verifier().reveal() != raw
    with pytest.raises(ValueError):
        pkce.new_verifier(42)


def test_authorize_url_has_state_and_s256_and_pending_hides_verifier() -> None:
    url, pending = start_authorization(
        authorization_endpoint="https://h.example/oidc/v1/authorize",
        connection="emu",
        client_id="databricks-cli",
        redirect_uri="http://localhost:8888/dbx-auth/callback",
        scopes=("all-apis", "offline_access"),
        now=1000.0,
    )
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["response_type"] == "code"
    assert query["client_id"] == "databricks-cli"
    assert query["state"] == pending.state and len(pending.state) >= 32
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == pkce.challenge(pending.verifier)
    assert query["scope"] == "all-apis offline_access"
    assert pending.verifier.reveal() not in url
    text = repr(pending) + str(pending)
    assert pending.verifier.reveal() not in text and pending.state not in text
    assert pending.state_matches(pending.state) and not pending.state_matches("x")
    assert not pending.state_matches(None)


def test_tokenset_refresh_point_caps_margin_at_half_life() -> None:
    long = TokenSet(Secret("a"), expires_at=1000.0 + 3600, issued_at=1000.0)
    assert long.refresh_at(300) == 1000.0 + 3300
    short = TokenSet(Secret("a"), expires_at=1000.0 + 60, issued_at=1000.0)
    assert short.refresh_at(300) == 1000.0 + 30
    assert TokenSet(Secret("a")).refresh_at(300) == float("inf")


def test_tokenset_from_response_and_repr_and_record() -> None:
    body = {
        "access_token": "canary-access",
        "refresh_token": "canary-refresh",
        "expires_in": 3600,
        "scope": "all-apis",
        "token_type": "Bearer",
    }
    tokens = TokenSet.from_response(body, now=10.0)
    assert tokens.expires_at == 3610.0 and tokens.issued_at == 10.0
    assert "canary" not in repr(tokens) and "canary" not in str(tokens)
    again = TokenSet.from_record(tokens.to_record(host="h"))
    assert again == tokens and again.refresh_token == Secret("canary-refresh")
    with pytest.raises(ValueError):
        TokenSet.from_response({"token_type": "Bearer"}, now=0)


def test_backoff_is_full_jitter_and_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    assert [policy.backoff(n, lambda: 1.0) for n in range(6)] == [0.5, 1, 2, 4, 4, 4]
    assert policy.backoff(3, lambda: 0.0) == 0.0


def test_parse_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    date = email.utils.formatdate(1000.0 + 7, usegmt=True)
    assert parse_retry_after(date, now=1000.0) == pytest.approx(7.0)
    assert parse_retry_after(email.utils.formatdate(900.0, usegmt=True), now=1000.0) == 0.0


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _responses(*statuses: int, retry_after: str | None = None):
    queue = list(statuses)
    calls: list[int] = []

    async def send() -> httpx.Response:
        calls.append(1)
        status = queue.pop(0)
        headers = {"Retry-After": retry_after} if retry_after and status == 429 else {}
        return httpx.Response(status, json={}, headers=headers)

    return send, calls


async def test_retry_schedule_honours_retry_after_and_is_bounded() -> None:
    clock = _Clock()
    send, calls = _responses(429, 503, 200, retry_after="2")
    response = await send_with_retry(
        send,
        RetryPolicy(),
        what="t",
        sleep=clock.sleep,
        monotonic=lambda: clock.now,
        rand=lambda: 0.5,
    )
    assert response.status_code == 200 and len(calls) == 3
    assert clock.sleeps[0] == 2.0  # at least Retry-After, although the jittered backoff is less

    clock = _Clock()
    send, calls = _responses(*([503] * 10))
    with pytest.raises(TransientOAuthError) as info:
        await send_with_retry(
            send,
            RetryPolicy(max_attempts=4),
            what="token request",
            sleep=clock.sleep,
            monotonic=lambda: clock.now,
        )
    assert len(calls) == 4 and "HTTP 503" in str(info.value)

    clock = _Clock()  # a Retry-After beyond the time budget: give up now, do not sleep it out
    send, calls = _responses(429, 200, retry_after="120")
    with pytest.raises(TransientOAuthError):
        await send_with_retry(
            send,
            RetryPolicy(max_elapsed=30),
            what="t",
            sleep=clock.sleep,
            monotonic=lambda: clock.now,
        )
    assert len(calls) == 1 and clock.sleeps == []


def _error(status: int, error: str, description: str = "") -> httpx.Response:
    return httpx.Response(status, json={"error": error, "error_description": description})


def test_final_errors_map_to_the_right_exception_and_scrub_secrets() -> None:
    with pytest.raises(LoginRequired):
        raise_for_oauth_error(_error(400, "invalid_grant"), what="refresh")
    with pytest.raises(ClientSecretRejected) as info:
        raise_for_oauth_error(
            _error(401, "invalid_client", "bad secret canary-123456"),
            what="client credentials",
            sent_secrets=["canary-123456"],
            client_has_secret=True,
        )
    assert "canary" not in str(info.value) and "invalid_client" in str(info.value)
    with pytest.raises(OAuthError) as other:
        raise_for_oauth_error(_error(400, "invalid_scope"), what="x")
    assert type(other.value) is OAuthError
    raise_for_oauth_error(httpx.Response(200, json={}), what="ok")
