"""The broker's less-walked paths, found by mutation testing: workload identity and PAT through
`get_token`, the error status after a failed fetch compared whole, clearing by the right name,
two sign-ins of one connection, logout with the encrypted store, asyncio's bookkeeping of a
refresh nobody waits for, and connections whose tokens another process holds (hub mode) at the
broker's own seam (`RemoteTokens`; the real hub service: tests/hub/test_hub_mode.py)."""

from __future__ import annotations

import asyncio
import gc
import logging
import time

import pytest

from jupyter_dbx_auth.core.broker import TokenBroker
from jupyter_dbx_auth.core.connections import M2M_SCOPES, AuthMethod, Connection
from jupyter_dbx_auth.core.errors import (
    ClientSecretRejected,
    CredentialsMissing,
    DbxAuthError,
    LoginRequired,
    TransientOAuthError,
)
from jupyter_dbx_auth.core.oauth import OAuthEngine
from jupyter_dbx_auth.core.oauth.tokens import TokenSet
from jupyter_dbx_auth.core.secret import Secret
from jupyter_dbx_auth.core.status import Reason, State, Status
from jupyter_dbx_auth.core.store import EncryptedFileStore, MemoryStore
from tests.core.test_broker import FAST, sign_in_user, sp_conn, user_conn
from tests.core.test_broker_states import FixedClock, WarningSecrets, spy_on_revoke

LOGGED_OUT = Status(State.LOGGED_OUT, reason=Reason.NOT_SIGNED_IN)
PAT_HINT = "Set DATABRICKS_TOKEN or the profile's token, or use OAuth instead."


@pytest.fixture
async def engine():
    async with OAuthEngine(retry=FAST) as e:
        yield e


# -- workload identity and PAT -------------------------------------------------------------


async def test_workload_identity_through_the_broker(emulator, engine, monkeypatch) -> None:
    federated = emulator.service_principal("emulator-federated-sp")
    monkeypatch.setenv("TEST_OIDC_TOKEN", emulator.issue_test_oidc_token())
    conn = Connection(
        name="wif",
        host=emulator.url,
        method=AuthMethod.WORKLOAD_IDENTITY,
        client_id=federated["client_id"],
        oidc_token_env="TEST_OIDC_TOKEN",
        scopes=M2M_SCOPES,
    )
    broker = TokenBroker(MemoryStore(), engine)
    tokens = await broker.get_token(conn)
    assert tokens.access_token
    assert broker.status(conn) == Status(State.OK)
    assert await broker.get_token(conn) is tokens  # cached, not exchanged again
    assert emulator.token_requests()["urn:ietf:params:oauth:grant-type:token-exchange"] == 1


async def test_a_pat_is_handed_out_as_issued_now(emulator, engine) -> None:
    clock = FixedClock(1_000_000.0)
    broker = TokenBroker(MemoryStore(), engine, clock=clock)
    pat = Connection(name="pat", host=emulator.url, method=AuthMethod.PAT, token=Secret("dapi1"))
    tokens = await broker.get_token(pat)
    assert (tokens.access_token, tokens.issued_at, tokens.expires_at) == (
        Secret("dapi1"),
        1_000_000.0,
        None,
    )


async def test_a_failed_fetch_is_an_error_status_compared_whole(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine, secrets=WarningSecrets())
    seen: list[Status] = []
    broker.subscribe(lambda name, status: seen.append(status))
    empty = Connection(name="p2", host=emulator.url, method=AuthMethod.PAT)
    with pytest.raises(CredentialsMissing) as info:
        await broker.get_token(empty)
    assert (info.value.message, info.value.hint) == (
        "Connection p2 has no personal access token.",
        PAT_HINT,
    )
    warn = ("p2: the secret expires soon",)
    error = Status(State.ERROR, "Connection p2 has no personal access token.", PAT_HINT, warn)
    assert broker.status(empty) == error
    assert seen == [Status(State.REFRESHING, warnings=warn), error]


async def test_an_unknown_method_is_refused_in_words(emulator, engine) -> None:
    odd = Connection(name="odd", host=emulator.url, method=AuthMethod.PAT, token=Secret("t"))
    object.__setattr__(odd, "method", "carrier-pigeon")  # no such method: from a future config
    with pytest.raises(DbxAuthError) as info:
        await TokenBroker(MemoryStore(), engine).get_token(odd)
    assert info.value.message == "Unsupported auth method 'carrier-pigeon'."


async def test_never_signed_in_says_so(emulator, engine) -> None:
    with pytest.raises(LoginRequired) as info:
        await TokenBroker(MemoryStore(), engine).get_token(user_conn(emulator))
    assert info.value.message == "Connection emu is not signed in."


async def test_a_failed_refresh_within_the_margin_keeps_the_warnings(emulator, engine) -> None:
    clock = FixedClock(time.time())
    broker = TokenBroker(MemoryStore(), engine, clock=clock, secrets=WarningSecrets())
    conn = user_conn(emulator)
    pending, params = await sign_in_user(broker, emulator, conn)
    current = await broker.complete_login(conn, pending, params["code"])

    async def down(connection, refresh_token):  # type: ignore[no-untyped-def]
        raise TransientOAuthError("Databricks did not answer.", hint="Try again.")

    engine.refresh = down  # type: ignore[method-assign]
    clock.now = current.refresh_at(broker.refresh_margin) + 1
    assert await broker.get_token(conn) is current
    warn = ("emu: the secret expires soon",)
    error = Status(State.ERROR, "Databricks did not answer.", "Try again.", warn)
    assert broker.status(conn) == error
    clock.now = current.expires_at  # past the margin: refused, and the status says the same
    with pytest.raises(TransientOAuthError):
        await broker.get_token(conn)
    assert broker.status(conn) == error


# -- clearing by the right name ------------------------------------------------------------


async def test_changed_credentials_drop_the_cached_token_and_say_so(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine)
    secret = emulator.service_principal("emulator-etl-sp")["secret"]
    with_secret = sp_conn(emulator, client_secret=Secret(secret))
    first = await broker.get_token(with_secret)
    seen: list[tuple[str, Status | None]] = []
    broker.subscribe(lambda name, status: seen.append((name, status)))
    broker.credentials_changed(sp_conn(emulator))  # its secret was removed
    assert seen == [("etl", Status(State.LOGGED_OUT))]
    assert broker.cached_token(with_secret) is None
    broker.credentials_changed(with_secret)  # and a secret added again
    assert seen[1:] == [("etl", Status(State.OK))]
    assert (await broker.get_token(with_secret)).access_token != first.access_token


async def test_forgetting_what_was_never_cached_is_fine(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine)
    broker.forget(user_conn(emulator))
    assert broker.status(user_conn(emulator)) == LOGGED_OUT


async def test_two_sign_ins_of_one_connection_can_both_complete(emulator, engine) -> None:
    # Two browser tabs: the second "Sign in" finds one pending and starts another.
    broker = TokenBroker(MemoryStore(), engine)
    conn = user_conn(emulator)
    first, first_params = await sign_in_user(broker, emulator, conn)
    second, second_params = await sign_in_user(broker, emulator, conn)
    await broker.complete_login(conn, first, first_params["code"])
    await broker.complete_login(conn, second, second_params["code"])
    assert broker.status(conn) == Status(State.OK)


async def test_a_sign_in_abandoned_after_logout_stays_logged_out(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine)
    conn = user_conn(emulator)
    pending, params = await sign_in_user(broker, emulator, conn)
    await broker.complete_login(conn, pending, params["code"])
    await broker.begin_login(conn, "http://localhost:8888/dbx-auth/callback")  # status: ok
    await broker.logout(conn)
    status = await broker.abandon_login(conn, Reason.CANCELLED, pending=True)
    assert status.state is State.LOGGED_OUT  # not the "signed in" it had before logging out


async def test_logout_with_the_encrypted_store(emulator, engine, tmp_path) -> None:
    store = EncryptedFileStore(tmp_path, key="11" * 32)
    broker = TokenBroker(store, engine)
    revoked = spy_on_revoke(engine)
    conn = user_conn(emulator)
    pending, params = await sign_in_user(broker, emulator, conn)
    await broker.complete_login(conn, pending, params["code"])
    assert store.get("u2m", "emu") is not None
    await broker.logout(conn)
    assert store.get("u2m", "emu") is None
    assert len(revoked) == 1
    assert broker.status(conn) == LOGGED_OUT


# -- a refresh nobody waits for any more ---------------------------------------------------


async def _quiet_asyncio(caplog: pytest.LogCaptureFixture) -> list[str]:
    await asyncio.sleep(0)
    gc.collect()
    await asyncio.sleep(0)
    return [r.getMessage() for r in caplog.records if r.name == "asyncio"]


async def test_a_failed_refresh_whose_callers_all_left_is_not_logged_as_lost(
    emulator, engine, caplog
) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")
    broker = TokenBroker(MemoryStore(), engine)
    wrong = sp_conn(emulator, client_secret=Secret("not-the-secret"))
    caller = asyncio.ensure_future(broker.get_token(wrong))
    await asyncio.sleep(0)
    (refresh,) = broker._inflight.values()
    caller.cancel()
    await asyncio.wait([refresh])
    assert isinstance(refresh.exception(), ClientSecretRejected)
    del refresh, caller
    assert await _quiet_asyncio(caplog) == []


async def test_a_cancelled_refresh_is_not_asked_for_its_exception(emulator, engine, caplog) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")
    broker = TokenBroker(MemoryStore(), engine)
    conn = sp_conn(emulator, client_secret=Secret("s"))
    caller = asyncio.ensure_future(broker.get_token(conn))
    await asyncio.sleep(0)
    (refresh,) = broker._inflight.values()
    refresh.cancel()  # the server shutting down
    await asyncio.wait([refresh])
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert broker._inflight == {}
    assert await _quiet_asyncio(caplog) == []


# -- connections held elsewhere (hub mode) -------------------------------------------------


class Held:
    """`RemoteTokens` as the broker sees it: serves the names it holds, hands out tokens."""

    def __init__(self, *names: str) -> None:
        self.names = set(names)
        self.statuses: dict[str, Status] = {n: Status(State.OK) for n in names}
        self.handed = 0

    def serves(self, connection: Connection) -> bool:
        return connection.name in self.names

    async def token(self, connection: Connection, *, rejected: Secret | None) -> TokenSet:
        self.handed += 1
        now = time.time()
        return TokenSet(Secret(f"held-{self.handed}"), expires_at=now + 3600, issued_at=now)

    def status(self, connection: Connection) -> Status:
        return self.statuses[connection.name]


async def test_logout_of_a_held_connection_never_touches_this_servers_store(
    emulator, engine
) -> None:
    # A local sign-in under the same name (the hub's connection shadows it) stays as it is.
    store = MemoryStore()
    store.put("u2m", "emu", {"refresh_token": "local", "host": emulator.url})
    held = Held("emu")
    broker = TokenBroker(store, engine, remote=held)
    revoked = spy_on_revoke(engine)
    conn = user_conn(emulator)
    assert (await broker.get_token(conn)).access_token == Secret("held-1")
    await broker.logout(conn)
    assert store.get("u2m", "emu") == {"refresh_token": "local", "host": emulator.url}
    assert revoked == []
    assert broker.cached_token(conn) is None


async def test_the_first_status_of_a_held_connection_is_the_holders(emulator, engine) -> None:
    held = Held("emu")
    held.statuses["emu"] = Status(State.LOGIN_REQUIRED, "Sign in again.", reason=Reason.EXPIRED)
    broker = TokenBroker(MemoryStore(), engine, remote=held)
    assert await broker.load_status(user_conn(emulator)) == held.statuses["emu"]
    assert broker.status(user_conn(emulator)) == held.statuses["emu"]


@pytest.mark.parametrize(
    ("heard", "keeps_token"),
    [
        (Status(State.LOGGED_OUT, reason=Reason.NOT_SIGNED_IN), False),
        (Status(State.LOGIN_REQUIRED, "Sign in again.", reason=Reason.EXPIRED), False),
        (Status(State.ERROR, "The hub service did not answer."), True),
    ],
)
async def test_a_status_heard_from_the_holder(emulator, engine, heard, keeps_token) -> None:
    broker = TokenBroker(MemoryStore(), engine, remote=Held("emu", "other"))
    conn = user_conn(emulator)
    other = Connection(name="other", host=emulator.url, method=AuthMethod.USER)
    await broker.get_token(conn)
    await broker.get_token(other)
    seen: list[tuple[str, Status]] = []
    broker.subscribe(lambda name, status: seen.append((name, status)))
    broker.report(conn, heard)
    assert seen == [("emu", heard)]
    assert broker.status(conn) == heard
    assert (broker.cached_token(conn) is not None) is keeps_token
    assert broker.cached_token(other) is not None  # only the connection heard about
