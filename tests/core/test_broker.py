"""The token broker against the emulator: statuses, caching, single-flight, login, M2M, logout."""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet

from jupyter_dbx_auth.core.broker import TokenBroker
from jupyter_dbx_auth.core.connections import M2M_SCOPES, AuthMethod, Connection
from jupyter_dbx_auth.core.errors import (
    CredentialsMissing,
    LoginRequired,
    OAuthError,
)
from jupyter_dbx_auth.core.oauth import OAuthEngine, RetryPolicy
from jupyter_dbx_auth.core.secret import Secret
from jupyter_dbx_auth.core.status import State, Status
from jupyter_dbx_auth.core.store import EncryptedFileStore, MemoryStore
from tests.browser import sign_in

REDIRECT = "http://127.0.0.1:8888/dbx-auth/callback"
SINGLE_USE_APP = "7c0b5e0e-1111-4a1a-8a1a-00000000c002"
FAST = RetryPolicy(max_attempts=3, max_elapsed=5, base_delay=0.01, max_delay=0.05)
CANARY = "canary-5b1e77d0-secret"


class Clock:
    """Wall time plus an offset, to reach a token's refresh point without sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def user_conn(emulator, client_id: str = SINGLE_USE_APP) -> Connection:
    return Connection(name="emu", host=emulator.url, method=AuthMethod.USER, client_id=client_id)


def sp_conn(emulator, name: str = "etl", **kw) -> Connection:
    sp = emulator.service_principal("emulator-etl-sp")
    kw.setdefault("client_id", sp["client_id"])
    return Connection(
        name=name, host=emulator.url, method=AuthMethod.SERVICE_PRINCIPAL, scopes=M2M_SCOPES, **kw
    )


async def sign_in_user(broker: TokenBroker, emulator, conn: Connection):
    url, pending = await broker.begin_login(conn, REDIRECT)
    alice = emulator.user("alice@example.com")
    location = sign_in(url, alice["username"], alice["password"])
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return pending, params


@pytest.fixture
async def engine():
    async with OAuthEngine(retry=FAST) as e:
        yield e


async def test_u2m_statuses_cache_refresh_and_login_required(emulator, engine) -> None:
    store, clock = MemoryStore(), Clock()
    broker = TokenBroker(store, engine, clock=clock)
    conn = user_conn(emulator)
    seen: list[Status] = []
    unsubscribe = broker.subscribe(lambda name, status: seen.append(status))
    assert broker.status(conn).state is State.LOGGED_OUT
    with pytest.raises(LoginRequired):
        await broker.get_token(conn)

    seen.clear()
    pending, params = await sign_in_user(broker, emulator, conn)
    tokens = await broker.complete_login(conn, pending, params["code"])
    record = store.get("u2m", "emu")
    assert record is not None and record["host"] == emulator.url
    assert Secret(record["refresh_token"]) == tokens.refresh_token

    # Cached: no request while fresh, same object, sync and async paths agree.
    before = emulator.token_requests()
    assert await broker.get_token(conn) is tokens and broker.cached_token(conn) is tokens
    assert emulator.token_requests() == before

    # Within the refresh margin: one refresh, the rotated refresh token lands in the store.
    clock.offset = (tokens.expires_at or 0) - time.time() - 100
    assert broker.cached_token(conn) is None
    fresh = await broker.get_token(conn)
    assert fresh.access_token != tokens.access_token
    assert Secret(store.get("u2m", "emu")["refresh_token"]) == fresh.refresh_token
    clock.offset = 0

    # The IdP revokes the user: the refresh is final (no retry) and the status says so.
    emulator.revoke("alice@example.com")
    requests = emulator.token_requests().get("refresh_token", 0)
    with pytest.raises(LoginRequired) as info:
        await broker.get_token(conn, force_refresh=True)
    assert emulator.token_requests()["refresh_token"] == requests + 1
    assert info.value.hint and store.get("u2m", "emu") is None
    assert broker.cached_token(conn) is None

    states = [s.state for s in seen]
    assert states == [
        State.LOGIN_PENDING,
        State.OK,
        State.REFRESHING,
        State.OK,
        State.REFRESHING,
        State.LOGIN_REQUIRED,
    ]
    assert seen[-1].message and "invalid_grant" in seen[-1].message
    unsubscribe()
    await broker.logout(conn)
    assert len(seen) == 6 and broker.status(conn).state is State.LOGGED_OUT


async def test_a_login_completes_only_the_connection_it_was_started_for(emulator, engine):
    # State, user binding, TTL and single use are the login-state table's (core.service.pending).
    broker = TokenBroker(MemoryStore(), engine)
    conn = user_conn(emulator)
    other = Connection(name="other", host=emulator.url, method=AuthMethod.USER)
    pending, params = await sign_in_user(broker, emulator, conn)
    with pytest.raises(OAuthError):
        await broker.complete_login(other, pending, params["code"])
    await broker.complete_login(conn, pending, params["code"])
    assert broker.status(conn).state is State.OK


async def test_another_process_refresh_is_adopted_not_repeated(emulator, engine, tmp_path):
    key = Fernet.generate_key().decode()
    conn = user_conn(emulator)
    clock_a, clock_b = Clock(), Clock()
    a = TokenBroker(EncryptedFileStore(tmp_path / "s", key=key), engine, clock=clock_a)
    b = TokenBroker(EncryptedFileStore(tmp_path / "s", key=key), engine, clock=clock_b)
    pending, params = await sign_in_user(a, emulator, conn)
    first = await a.complete_login(conn, pending, params["code"])
    # B starts later and finds A's sign-in in the store: no token request for it.
    before = emulator.token_requests().get("refresh_token", 0)
    assert (await b.get_token(conn)).access_token == first.access_token
    # Both reach the refresh point; A refreshes, B adopts A's rotated record instead of spending
    # the (single-use, already spent) refresh token again.
    # The offset puts both clocks just past the first token's refresh point, so a token obtained
    # now (half a second later in real time) is still fresh for both.
    await asyncio.sleep(0.5)
    clock_a.offset = clock_b.offset = first.refresh_at(a.refresh_margin) - time.time() + 0.01
    from_a = await a.get_token(conn)
    assert (await b.get_token(conn)).access_token == from_a.access_token
    assert emulator.token_requests()["refresh_token"] == before + 1


async def test_200_concurrent_callers_at_expiry_make_one_request(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine)
    conn = sp_conn(
        emulator, client_secret=Secret(emulator.service_principal("emulator-etl-sp")["secret"])
    )
    results = await asyncio.gather(*(broker.get_token(conn) for _ in range(200)))
    assert len({id(r) for r in results}) == 1
    assert emulator.token_requests()["client_credentials"] == 1


async def test_pat_passthrough_and_logout(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine)
    pat = Connection(name="pat", host=emulator.url, method=AuthMethod.PAT, token=Secret("dapi1"))
    tokens = await broker.get_token(pat)
    assert tokens.access_token == Secret("dapi1") and tokens.expires_at is None
    assert await broker.get_token(pat) is tokens
    with pytest.raises(CredentialsMissing):
        await broker.get_token(Connection(name="p2", host=emulator.url, method=AuthMethod.PAT))

    conn = user_conn(emulator)
    pending, params = await sign_in_user(broker, emulator, conn)
    await broker.complete_login(conn, pending, params["code"])
    await broker.logout(conn)
    assert broker.status(conn).state is State.LOGGED_OUT
    assert broker.cached_token(conn) is None
    with pytest.raises(LoginRequired):
        await broker.get_token(conn)


async def test_pending_login_and_tokens_never_show_secrets(emulator, engine, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    broker = TokenBroker(MemoryStore(), engine)
    conn = user_conn(emulator)
    pending, params = await sign_in_user(broker, emulator, conn)
    tokens = await broker.complete_login(conn, pending, params["code"])
    secrets = [pending.verifier.reveal(), tokens.access_token.reveal()]
    secrets.append(tokens.refresh_token.reveal() if tokens.refresh_token else "")
    for text in (repr(pending), str(pending), repr(tokens), repr(broker), caplog.text):
        for value in secrets:
            assert value not in text


async def test_rejected_token_means_one_refresh_for_many_callers(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine)
    secret = Secret(emulator.service_principal("emulator-etl-sp")["secret"])
    conn = sp_conn(emulator, client_secret=secret)
    first = await broker.get_token(conn)
    # Five kernels report a 401 for the same token at once: one new token for all of them.
    again = await asyncio.gather(
        *(broker.get_token(conn, rejected=first.access_token) for _ in range(5))
    )
    assert {id(t) for t in again} == {id(again[0])} and again[0] is not first
    # A late report about the old token gets the new one without another request.
    assert await broker.get_token(conn, rejected=first.access_token) is again[0]
    assert emulator.token_requests()["client_credentials"] == 2


async def test_short_lived_token_is_refreshed_at_half_its_life(emulator_factory) -> None:
    short = emulator_factory(token_ttl=2)
    async with OAuthEngine(retry=FAST) as engine:
        broker = TokenBroker(MemoryStore(), engine, refresh_margin=300)
        secret = Secret(short.service_principal("emulator-etl-sp")["secret"])
        conn = sp_conn(short, client_secret=secret)
        first = await broker.get_token(conn)
        # A 5-minute margin on a 2-second token would refresh on every call; half-life caps it.
        assert await broker.get_token(conn) is first
        await asyncio.sleep(1.1)
        assert broker.cached_token(conn) is None
        second = await broker.get_token(conn)
        assert second is not first and await broker.get_token(conn) is second
    assert short.token_requests()["client_credentials"] == 2


class FlakyStore(MemoryStore):
    """A store whose next `put` fails (disk full, keyring hiccup)."""

    fail_puts = 0

    def put(self, namespace, key, record) -> None:
        if self.fail_puts:
            self.fail_puts -= 1
            raise OSError("disk full")
        super().put(namespace, key, record)


async def test_rotated_refresh_token_survives_a_failed_store_write(emulator, engine) -> None:
    store, clock = FlakyStore(), Clock()
    broker = TokenBroker(store, engine, clock=clock)
    conn = user_conn(emulator)  # single-use refresh tokens: losing the rotated one is fatal
    pending, params = await sign_in_user(broker, emulator, conn)
    await broker.complete_login(conn, pending, params["code"])
    store.fail_puts = 1
    rotated = await broker.get_token(conn, force_refresh=True)  # saved in memory only
    assert Secret(store.get("u2m", "emu")["refresh_token"]) != rotated.refresh_token
    # The next refresh spends the rotated token kept in memory (the stored one is dead) and
    # this time the store takes the result.
    latest = await broker.get_token(conn, force_refresh=True)
    assert Secret(store.get("u2m", "emu")["refresh_token"]) == latest.refresh_token
    assert broker.status(conn).state is State.OK
