"""The OAuth engine against the emulator over loopback: real HTTP, no mocks."""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from jupyter_dbx_auth.core.connections import M2M_SCOPES, AuthMethod, Connection
from jupyter_dbx_auth.core.errors import (
    ClientSecretRejected,
    CredentialsMissing,
    LoginRequired,
    TransientOAuthError,
)
from jupyter_dbx_auth.core.oauth import OAuthEngine, RetryPolicy
from jupyter_dbx_auth.core.secret import Secret
from tests.browser import sign_in

REDIRECT = "http://127.0.0.1:8888/dbx-auth/callback"  # registered with the seed's custom apps
CLI_REDIRECT = "http://localhost:8020"  # the only redirect Databricks registers for databricks-cli
SINGLE_USE_APP = "7c0b5e0e-1111-4a1a-8a1a-00000000c002"  # public, single-use refresh tokens
FAST = RetryPolicy(max_attempts=4, max_elapsed=10, base_delay=0.01, max_delay=0.05)


def user_connection(emulator, client_id: str = "databricks-cli") -> Connection:
    return Connection(name="emu", host=emulator.url, method=AuthMethod.USER, client_id=client_id)


def sp_connection(emulator, **kw) -> Connection:
    sp = emulator.service_principal("emulator-etl-sp")
    return Connection(
        name="etl",
        host=emulator.url,
        method=AuthMethod.SERVICE_PRINCIPAL,
        client_id=sp["client_id"],
        scopes=M2M_SCOPES,
        **kw,
    )


def redirect(conn: Connection) -> str:
    return CLI_REDIRECT if conn.client_id == "databricks-cli" else REDIRECT


def callback_params(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def login(engine: OAuthEngine, emulator, conn: Connection):
    url, pending = await engine.begin_login(conn, redirect(conn))
    alice = emulator.user("alice@example.com")
    params = callback_params(sign_in(url, alice["username"], alice["password"]))
    assert params["state"] == pending.state  # the IdP hands our state back untouched
    return await engine.exchange_code(conn, pending, params["code"])


async def test_pkce_login_code_exchange_and_refresh(emulator) -> None:
    async with OAuthEngine(retry=FAST) as engine:
        conn = user_connection(emulator)
        url, pending = await engine.begin_login(conn, redirect(conn))
        query = callback_params(url)
        assert query["code_challenge_method"] == "S256" and "code_verifier" not in query
        alice = emulator.user("alice@example.com")
        params = callback_params(sign_in(url, alice["username"], alice["password"]))
        assert pending.state_matches(params["state"])
        tokens = await engine.exchange_code(conn, pending, params["code"])
        assert tokens.access_token and tokens.refresh_token
        assert tokens.expires_at is not None and tokens.expires_at > time.time() + 60

        # A code is single-use: redeeming it again is final, not retried.
        with pytest.raises(LoginRequired):
            await engine.exchange_code(conn, pending, params["code"])

        refreshed = await engine.refresh(conn, tokens.refresh_token)
        assert refreshed.access_token != tokens.access_token
        assert refreshed.refresh_token is not None
    counts = emulator.token_requests()
    assert counts.get("authorization_code") == 2 and counts.get("refresh_token") == 1


async def test_single_use_refresh_token_rotates_and_the_old_one_is_dead(emulator) -> None:
    async with OAuthEngine(retry=FAST) as engine:
        conn = user_connection(emulator, SINGLE_USE_APP)
        first = await login(engine, emulator, conn)
        second = await engine.refresh(conn, first.refresh_token)
        assert second.refresh_token != first.refresh_token
        with pytest.raises(LoginRequired) as info:
            await engine.refresh(conn, first.refresh_token)
        assert info.value.error == "invalid_grant"
        third = await engine.refresh(conn, second.refresh_token)
        assert third.refresh_token not in (first.refresh_token, second.refresh_token)
    # invalid_grant is final: exactly one request for it, no retry loop.
    assert emulator.token_requests()["refresh_token"] == 3


async def test_backoff_honours_retry_after(emulator) -> None:
    conn = sp_connection(emulator)
    secret = Secret(emulator.service_principal("emulator-etl-sp")["secret"])
    policy = RetryPolicy(max_attempts=4, max_elapsed=20, base_delay=0.01, max_delay=0.02)
    async with OAuthEngine(retry=policy) as engine:
        emulator.fail_next_token_requests(2, status=429, retry_after=0.6)
        start = time.monotonic()
        tokens = await engine.client_credentials(conn, conn.client_id or "", secret)
        elapsed = time.monotonic() - start
    assert tokens.access_token
    # Two waits of at least Retry-After each, although the jittered backoff is <= 0.02 s.
    assert elapsed >= 1.2
    assert emulator.token_requests()["client_credentials"] == 3


async def test_5xx_is_retried_then_succeeds(emulator) -> None:
    conn = sp_connection(emulator)
    secret = Secret(emulator.service_principal("emulator-etl-sp")["secret"])
    async with OAuthEngine(retry=FAST) as engine:
        emulator.fail_next_token_requests(2, status=503)
        tokens = await engine.client_credentials(conn, conn.client_id or "", secret)
    assert tokens.access_token
    assert emulator.token_requests()["client_credentials"] == 3


async def test_retries_are_bounded_in_attempts_and_time(emulator) -> None:
    conn = sp_connection(emulator)
    secret = Secret(emulator.service_principal("emulator-etl-sp")["secret"])
    async with OAuthEngine(retry=FAST) as engine:
        emulator.fail_next_token_requests(50, status=502)
        with pytest.raises(TransientOAuthError) as info:
            await engine.client_credentials(conn, conn.client_id or "", secret)
        assert "HTTP 502" in str(info.value) and info.value.hint
        assert emulator.token_requests()["client_credentials"] == FAST.max_attempts

        # An outage (connections dropped) ends within the time bound too.
        emulator.reset()
        emulator.set_down(True)
        bounded = RetryPolicy(max_attempts=100, max_elapsed=1.0, base_delay=0.05, max_delay=0.2)
        slow = OAuthEngine(retry=bounded)
        start = time.monotonic()
        with pytest.raises(TransientOAuthError) as down:
            await slow.client_credentials(conn, conn.client_id or "", secret)
        await slow.aclose()
        assert time.monotonic() - start < 5
        assert "connection error" in str(down.value)
        emulator.set_down(False)


async def test_invalid_client_is_final_and_never_shows_the_secret(emulator, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    canary = "canary-9f3a1c-client-secret"
    conn = sp_connection(emulator, client_secret=Secret(canary))
    async with OAuthEngine(retry=FAST) as engine:
        with pytest.raises(ClientSecretRejected) as info:
            await engine.client_credentials(conn, conn.client_id or "", Secret(canary))
        assert emulator.token_requests()["client_credentials"] == 1
        for text in (
            str(info.value),
            repr(info.value),
            info.value.hint,
            repr(engine),
            repr(conn),
            caplog.text,
        ):
            assert canary not in text


async def test_workload_identity_from_env_and_rotated_file(emulator, tmp_path, monkeypatch):
    federated = emulator.service_principal("emulator-federated-sp")
    monkeypatch.setenv("TEST_OIDC_TOKEN", emulator.issue_test_oidc_token())
    by_env = Connection(
        name="wif-env",
        host=emulator.url,
        method=AuthMethod.WORKLOAD_IDENTITY,
        client_id=federated["client_id"],
        oidc_token_env="TEST_OIDC_TOKEN",
        scopes=M2M_SCOPES,
    )
    token_file = tmp_path / "token"
    by_file = Connection(
        name="wif-file",
        host=emulator.url,
        method=AuthMethod.WORKLOAD_IDENTITY,
        client_id=federated["client_id"],
        oidc_token_file=str(token_file),
        scopes=M2M_SCOPES,
    )
    async with OAuthEngine(retry=FAST) as engine:
        assert (await engine.token_exchange(by_env)).access_token

        token_file.write_text(emulator.issue_test_oidc_token())
        assert (await engine.token_exchange(by_file)).access_token
        # Kubernetes rotates the projected token in place: the next exchange must read the new
        # one. Prove it by rotating to an untrusted token (refused) and back (accepted).
        token_file.write_text(emulator.issue_test_oidc_token(trusted=False))
        with pytest.raises(Exception) as refused:
            await engine.token_exchange(by_file)
        assert not isinstance(refused.value, TransientOAuthError)
        token_file.write_text(emulator.issue_test_oidc_token())
        assert (await engine.token_exchange(by_file)).access_token

        token_file.unlink()
        with pytest.raises(CredentialsMissing):
            await engine.token_exchange(by_file)
    assert emulator.token_requests()["urn:ietf:params:oauth:grant-type:token-exchange"] == 4
