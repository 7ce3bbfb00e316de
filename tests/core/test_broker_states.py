"""The broker's statuses through a sign-in's life, against the emulator: started, abandoned,
awaited by a notebook, completed, failed, logged out (with revocation), and the first status of a
connection never seen. Each status is compared whole (state, reason, message, hint, warnings): the
sidebar shows every field, and mutation testing found fields no test looked at."""

from __future__ import annotations

import asyncio
import logging

import pytest

from jupyter_dbx_auth.core.broker import TokenBroker
from jupyter_dbx_auth.core.connections import AuthMethod, Connection
from jupyter_dbx_auth.core.errors import (
    CredentialsMissing,
    DbxAuthError,
    LoginRequired,
    OAuthError,
    TransientOAuthError,
)
from jupyter_dbx_auth.core.oauth import OAuthEngine
from jupyter_dbx_auth.core.secret import Secret
from jupyter_dbx_auth.core.sources import ConnectionSecretsOnly
from jupyter_dbx_auth.core.status import Reason, State, Status
from jupyter_dbx_auth.core.store import MemoryStore
from tests.core.test_broker import FAST, REDIRECT, sign_in_user, sp_conn, user_conn

LOGGED_OUT = Status(State.LOGGED_OUT, reason=Reason.NOT_SIGNED_IN)


@pytest.fixture
async def engine():
    async with OAuthEngine(retry=FAST) as e:
        yield e


async def signed_in(emulator, engine, store=None) -> tuple[TokenBroker, Connection, MemoryStore]:
    store = store if store is not None else MemoryStore()
    broker = TokenBroker(store, engine)
    conn = user_conn(emulator)
    pending, params = await sign_in_user(broker, emulator, conn)
    await broker.complete_login(conn, pending, params["code"])
    return broker, conn, store


async def test_first_status_of_a_user_connection(emulator, engine) -> None:
    store = MemoryStore()
    conn = user_conn(emulator)
    assert TokenBroker(store, engine).status(conn) == LOGGED_OUT
    store.put("u2m", "emu", {"refresh_token": "r", "host": emulator.url})
    assert TokenBroker(store, engine).status(conn) == Status(State.OK)
    assert await TokenBroker(store, engine).load_status(conn) == Status(State.OK)
    # Signed in to another host under this name, or a record without a refresh token: not ours.
    store.put("u2m", "emu", {"refresh_token": "r", "host": "https://elsewhere.example"})
    assert TokenBroker(store, engine).status(conn) == LOGGED_OUT
    store.put("u2m", "emu", {"host": emulator.url})
    assert await TokenBroker(store, engine).load_status(conn) == LOGGED_OUT


async def test_first_status_of_service_principals(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine)
    with_secret = sp_conn(emulator, client_secret=Secret("s"))
    without = sp_conn(emulator, name="etl2")
    assert broker.status(with_secret) == Status(State.OK)
    assert broker.status(without) == Status(State.LOGGED_OUT)
    assert await broker.load_status(without) == Status(State.LOGGED_OUT)
    pat = Connection(name="p", host=emulator.url, method=AuthMethod.PAT, token=Secret("t"))
    assert broker.status(pat) == Status(State.OK)


class WarningSecrets(ConnectionSecretsOnly):
    def warnings(self, connection: Connection) -> tuple[str, ...]:
        return (f"{connection.name}: the secret expires soon",)


async def test_service_principal_statuses_carry_the_secret_warnings(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine, secrets=WarningSecrets())
    warn = ("etl: the secret expires soon",)
    conn = sp_conn(emulator, client_secret=Secret("wrong"))
    assert broker.status(conn) == Status(State.OK, warnings=warn)
    assert broker.warnings(conn) == list(warn)
    missing = sp_conn(emulator)
    assert broker.status(missing) == Status(State.LOGGED_OUT, warnings=warn)
    # A secret added or removed: the status starts afresh from what the source knows.
    broker._board.set("etl", Status(State.ERROR, "x"))
    broker.credentials_changed(conn)
    assert broker.status(conn) == Status(State.OK, warnings=warn)


async def test_connection_secrets_only() -> None:
    source = ConnectionSecretsOnly()
    conn = Connection(name="sp", host="https://h", method=AuthMethod.SERVICE_PRINCIPAL)
    with pytest.raises(CredentialsMissing) as info:
        await source.credentials(conn)
    assert info.value.message == "Service principal connection sp has no client id and secret."
    assert info.value.hint == "Set the connection's client_id and client_secret."
    for partial in (
        Connection(name="sp", host="https://h", method=AuthMethod.SERVICE_PRINCIPAL, client_id="c"),
        Connection(
            name="sp",
            host="https://h",
            method=AuthMethod.SERVICE_PRINCIPAL,
            client_secret=Secret("s"),
        ),
    ):
        with pytest.raises(CredentialsMissing):
            await source.credentials(partial)
    full = Connection(
        name="sp",
        host="https://h",
        method=AuthMethod.SERVICE_PRINCIPAL,
        client_id="c",
        client_secret=Secret("s"),
    )
    client_id, secret = await source.credentials(full)
    assert (client_id, secret.reveal()) == ("c", "s")
    assert source.has_secret(full) and not source.has_secret(conn)
    assert source.warnings(full) == ()


async def test_login_required_statuses() -> None:
    never = LoginRequired("Connection emu is not signed in.", error="not_signed_in")
    assert TokenBroker._login_required_status(never) == LOGGED_OUT
    refused = LoginRequired("The sign-in ended.", error="invalid_grant", hint="Sign in again.")
    assert TokenBroker._login_required_status(refused) == Status(
        State.LOGIN_REQUIRED, "The sign-in ended.", "Sign in again.", reason=Reason.EXPIRED
    )


async def test_begin_then_abandon_puts_back_what_was_there(emulator, engine) -> None:
    broker, conn, _ = await signed_in(emulator, engine)
    assert broker.status(conn) == Status(State.OK)
    await broker.begin_login(conn, REDIRECT)
    assert broker.status(conn) == Status(State.LOGIN_PENDING)
    await broker.begin_login(conn, REDIRECT)  # a second window: "before" stays the first one
    status = await broker.abandon_login(conn, Reason.CANCELLED, "You cancelled.", pending=True)
    assert status == Status(State.OK, message="You cancelled.", reason=Reason.CANCELLED)
    assert broker.status(conn) == status


async def test_abandon_without_anything_pending_changes_nothing(emulator, engine) -> None:
    broker, conn, _ = await signed_in(emulator, engine)
    status = await broker.abandon_login(conn, Reason.CANCELLED, "closed", pending=False)
    assert status == Status(State.OK)
    assert broker.status(conn) == Status(State.OK)


async def test_abandon_with_only_the_table_pending(emulator, engine) -> None:
    """The login-state table still held one (pending=True) though the board moved on: the
    status goes back to what the store says, with the reason."""
    store = MemoryStore()
    broker = TokenBroker(store, engine)
    conn = user_conn(emulator)
    status = await broker.abandon_login(conn, Reason.DECLINED, "Declined.", pending=True)
    assert status == Status(State.LOGGED_OUT, message="Declined.", reason=Reason.DECLINED)


async def test_abandon_after_a_pending_before_reads_the_store(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine)
    conn = user_conn(emulator)
    await broker.begin_login(conn, REDIRECT)
    broker._before_login["emu"] = Status(State.REFRESHING)  # never a state to go back to
    status = await broker.abandon_login(conn, Reason.CANCELLED, None, pending=False)
    assert status == Status(State.LOGGED_OUT, reason=Reason.CANCELLED)
    assert "emu" not in broker._before_login


async def test_a_notebook_waiting(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine)
    conn = user_conn(emulator)
    await broker.note_waiting(conn)
    waiting = Status(State.LOGIN_PENDING, reason=Reason.KERNEL_WAITING)
    assert broker.status(conn) == waiting
    await broker.note_waiting(conn)  # asked twice: still waiting, "before" still signed out
    status = await broker.abandon_login(conn, Reason.CANCELLED, None, pending=False)
    assert status == Status(State.LOGGED_OUT, reason=Reason.CANCELLED)

    signed, conn2, _ = await signed_in(emulator, engine)
    await signed.note_waiting(conn2)
    assert signed.status(conn2) == Status(State.OK)  # signed in: nothing to wait for
    await signed.begin_login(conn2, REDIRECT)
    await signed.note_waiting(conn2)
    assert signed.status(conn2) == Status(State.LOGIN_PENDING)  # the browser's is the one


async def test_complete_login_sets_ok_caches_and_forgets_before(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine)
    conn = user_conn(emulator)
    before = emulator.token_requests().get("authorization_code", 0)
    pending, params = await sign_in_user(broker, emulator, conn)
    tokens = await broker.complete_login(conn, pending, params["code"])
    assert broker.status(conn) == Status(State.OK)
    assert "emu" not in broker._before_login
    assert broker.cached_token(conn) is tokens
    assert (await broker.get_token(conn)) is tokens  # from the cache: no other request
    assert emulator.token_requests().get("authorization_code", 0) == before + 1
    assert emulator.token_requests().get("refresh_token", 0) == 0


async def test_complete_login_for_another_connection_is_refused(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine)
    conn = user_conn(emulator)
    pending, params = await sign_in_user(broker, emulator, conn)
    other = Connection(name="other", host=emulator.url, method=AuthMethod.USER)
    with pytest.raises(OAuthError) as info:
        await broker.complete_login(other, pending, params["code"])
    assert info.value.message == "The sign-in response belongs to another connection."
    assert info.value.hint == "Start the sign-in again."


async def test_a_failed_code_exchange_is_an_error_status(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine)
    conn = user_conn(emulator)
    pending, _ = await sign_in_user(broker, emulator, conn)
    with pytest.raises(DbxAuthError) as info:
        await broker.complete_login(conn, pending, "not-the-code")
    assert broker.status(conn) == Status(State.ERROR, info.value.message, info.value.hint)
    assert broker.cached_token(conn) is None


async def test_begin_login_refuses_non_user_connections(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine)
    with pytest.raises(DbxAuthError) as info:
        await broker.begin_login(sp_conn(emulator), REDIRECT)
    assert info.value.message == "Connection etl does not sign in users (U2M)."
    assert broker.status(sp_conn(emulator)) == Status(State.LOGGED_OUT)


def spy_on_revoke(engine: OAuthEngine) -> list:
    calls: list = []
    real = engine.revoke

    async def revoke(connection, token):  # type: ignore[no-untyped-def]
        calls.append((connection, token))
        return await real(connection, token)

    engine.revoke = revoke  # type: ignore[method-assign]
    return calls


async def test_logout_forgets_everything_and_revokes(emulator, engine) -> None:
    broker, conn, store = await signed_in(emulator, engine)
    refresh = store.get("u2m", "emu")["refresh_token"]
    revoked = spy_on_revoke(engine)
    await broker.logout(conn)
    assert store.get("u2m", "emu") is None
    assert broker.cached_token(conn) is None
    assert broker.status(conn) == LOGGED_OUT
    assert [(c.name, token.reveal()) for c, token in revoked] == [("emu", refresh)]


async def test_logout_of_another_hosts_record_does_not_revoke_it(emulator, engine) -> None:
    broker, conn, store = await signed_in(emulator, engine)
    record = store.get("u2m", "emu")
    store.put("u2m", "emu", {**record, "host": "https://elsewhere.example"})
    revoked = spy_on_revoke(engine)
    await broker.logout(conn)
    assert store.get("u2m", "emu") is None
    assert revoked == []  # not this host's sign-in: not sent to this host


async def test_logout_says_when_revoking_failed(emulator, engine, caplog) -> None:
    broker, conn, _ = await signed_in(emulator, engine)
    caplog.set_level(logging.WARNING, logger="jupyter_dbx_auth.core.broker")

    async def refuse(connection, token):  # type: ignore[no-untyped-def]
        raise OAuthError("revocation endpoint down")

    engine.revoke = refuse  # type: ignore[method-assign]
    await broker.logout(conn)
    assert broker.status(conn) == LOGGED_OUT
    assert [r.getMessage() for r in caplog.records] == [
        "Revoking the sign-in of emu failed: revocation endpoint down"
    ]


async def test_logout_of_a_service_principal_keeps_its_warnings(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine, secrets=WarningSecrets())
    conn = sp_conn(emulator, client_secret=Secret("s"))
    await broker.logout(conn)
    assert broker.status(conn) == Status(
        State.LOGGED_OUT, warnings=("etl: the secret expires soon",), reason=Reason.NOT_SIGNED_IN
    )


async def test_forget_drops_only_the_cached_token(emulator, engine) -> None:
    broker, conn, store = await signed_in(emulator, engine)
    broker.forget(conn)
    assert broker.cached_token(conn) is None
    assert broker.status(conn) == Status(State.OK)
    assert store.get("u2m", "emu") is not None


# -- tokens: edges of freshness, rejection, single-flight, failed refreshes --------------------


class FixedClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_a_token_is_stale_at_its_refresh_point_exactly(emulator, engine) -> None:
    import time

    clock = FixedClock(time.time())
    broker = TokenBroker(MemoryStore(), engine, clock=clock)
    conn = sp_conn(
        emulator, client_secret=Secret(emulator.service_principal("emulator-etl-sp")["secret"])
    )
    first = await broker.get_token(conn)
    clock.now = first.refresh_at(broker.refresh_margin) - 0.001
    assert broker.cached_token(conn) is first and await broker.get_token(conn) is first
    clock.now = first.refresh_at(broker.refresh_margin)
    assert broker.cached_token(conn) is None
    assert await broker.get_token(conn) is not first


async def test_a_rejected_token_is_never_handed_back(emulator, engine) -> None:
    broker, conn, store = await signed_in(emulator, engine)
    first = await broker.get_token(conn)
    again = await broker.get_token(conn, rejected=first.access_token)
    assert again.access_token != first.access_token
    assert Secret(store.get("u2m", "emu")["refresh_token"]) == again.refresh_token


async def test_a_rejected_token_already_replaced_elsewhere_costs_no_refresh(
    emulator, engine
) -> None:
    """Another server (sharing the store) refreshed after the rejection: its token is adopted,
    not refreshed again (`rejected` reaches the store check)."""
    broker_a, conn, store = await signed_in(emulator, engine)
    old = await broker_a.get_token(conn)
    broker_b = TokenBroker(store, engine)
    newer = await broker_b.get_token(conn, force_refresh=True)
    before = emulator.token_requests().get("refresh_token", 0)
    adopted = await broker_a.get_token(conn, rejected=old.access_token)
    assert adopted.access_token == newer.access_token
    assert emulator.token_requests().get("refresh_token", 0) == before


async def test_single_flight_is_per_connection(emulator, engine) -> None:
    broker, user, _ = await signed_in(emulator, engine)
    broker.forget(user)
    sp = sp_conn(
        emulator, client_secret=Secret(emulator.service_principal("emulator-etl-sp")["secret"])
    )
    user_token, sp_token = await asyncio.gather(
        broker.get_token(user, force_refresh=True), broker.get_token(sp)
    )
    assert user_token.access_token != sp_token.access_token
    assert user_token.refresh_token is not None and sp_token.refresh_token is None


async def test_refreshing_status_carries_the_warnings(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine, secrets=WarningSecrets())
    seen: list[Status] = []
    broker.subscribe(lambda name, status: seen.append(status))
    conn = sp_conn(
        emulator, client_secret=Secret(emulator.service_principal("emulator-etl-sp")["secret"])
    )
    await broker.get_token(conn)
    warn = ("etl: the secret expires soon",)
    assert seen == [Status(State.REFRESHING, warnings=warn), Status(State.OK, warnings=warn)]


async def test_a_failed_refresh_within_the_margin_keeps_the_current_token(
    emulator, engine, caplog
) -> None:
    import time

    caplog.set_level(logging.WARNING, logger="jupyter_dbx_auth.core.broker")

    clock = FixedClock(time.time())
    store = MemoryStore()
    broker = TokenBroker(store, engine, clock=clock)
    conn = user_conn(emulator)
    pending, params = await sign_in_user(broker, emulator, conn)
    current = await broker.complete_login(conn, pending, params["code"])

    async def down(connection, refresh_token):  # type: ignore[no-untyped-def]
        raise TransientOAuthError("Databricks did not answer.", hint="Try again.")

    engine.refresh = down  # type: ignore[method-assign]
    clock.now = current.refresh_at(broker.refresh_margin) + 1  # due, not yet expired
    assert await broker.get_token(conn) is current
    assert broker.status(conn) == Status(State.ERROR, "Databricks did not answer.", "Try again.")
    clock.now = current.expires_at - 10.5  # still offered until 10 s before expiry
    assert await broker.get_token(conn) is current
    clock.now = current.expires_at - 10  # from there on: no longer offered
    with pytest.raises(TransientOAuthError):
        await broker.get_token(conn)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING][:1] == [
        "Refresh of emu failed (TransientOAuthError); using the current token until it expires"
    ]


async def test_an_imported_sign_in_refreshes_with_the_app_it_was_issued_to(
    emulator, engine
) -> None:
    """A record names the app its refresh token belongs to (a Databricks CLI import): the
    refresh uses that app, as a public client, whatever the connection says."""
    _, conn, store = await signed_in(emulator, engine)  # issued to SINGLE_USE_APP
    store.put("u2m", "emu", {**store.get("u2m", "emu"), "client_id": conn.client_id})
    elsewhere = Connection(
        name="emu",
        host=emulator.url,
        method=AuthMethod.USER,
        client_id="databricks-cli",
        client_secret=Secret("a-secret-the-public-app-must-not-be-sent"),
    )
    fresh = TokenBroker(store, engine)
    tokens = await fresh.get_token(elsewhere, force_refresh=True)
    assert tokens.refresh_token is not None
    assert store.get("u2m", "emu")["client_id"] == conn.client_id


async def test_a_plain_sign_in_records_no_app(emulator, engine) -> None:
    _, _, store = await signed_in(emulator, engine)
    assert "client_id" not in store.get("u2m", "emu")


async def test_a_failed_save_is_said_in_the_log(emulator, engine, caplog) -> None:
    from tests.core.test_broker import FlakyStore

    store = FlakyStore()
    broker, conn, _ = await signed_in(emulator, engine, store)
    caplog.set_level(logging.ERROR, logger="jupyter_dbx_auth.core.broker")
    store.fail_puts = 1
    await broker.get_token(conn, force_refresh=True)
    assert [r.getMessage() for r in caplog.records] == [
        "Could not save the rotated sign-in of emu (OSError); kept in memory only"
    ]


async def test_a_sign_in_abandoned_from_an_error_goes_back_to_the_error(emulator, engine) -> None:
    """The status before a sign-in is kept when the sign-in starts, not read again from the
    store: an error shown before (which the store cannot tell) comes back when it is given up."""
    broker = TokenBroker(MemoryStore(), engine)
    conn = user_conn(emulator)
    broker._board.set("emu", Status(State.ERROR, "Databricks did not answer.", "Try again."))
    await broker.begin_login(conn, REDIRECT)
    status = await broker.abandon_login(conn, Reason.CANCELLED, "You cancelled.", pending=True)
    assert status == Status(State.ERROR, "You cancelled.", None, reason=Reason.CANCELLED)


async def test_never_signed_in_is_logged_out_not_expired(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine)
    conn = user_conn(emulator)
    with pytest.raises(LoginRequired) as info:
        await broker.get_token(conn)
    assert info.value.error == "not_signed_in"
    assert broker.status(conn) == LOGGED_OUT


async def test_a_refused_refresh_is_expired_and_forgets_what_it_held(emulator, engine) -> None:
    from tests.core.test_broker import FlakyStore

    store = FlakyStore()
    broker, conn, _ = await signed_in(emulator, engine, store)
    store.fail_puts = 1
    await broker.get_token(conn, force_refresh=True)  # rotated, kept in memory only
    emulator.revoke("alice@example.com")
    with pytest.raises(LoginRequired) as info:
        await broker.get_token(conn, force_refresh=True)
    status = broker.status(conn)
    assert (status.state, status.reason, status.message) == (
        State.LOGIN_REQUIRED,
        Reason.EXPIRED,
        info.value.message,
    )
    assert store.get("u2m", "emu") is None
    # Nothing of the dead sign-in is tried again: no request, "not signed in".
    before = emulator.token_requests().get("refresh_token", 0)
    with pytest.raises(LoginRequired) as again:
        await broker.get_token(conn, force_refresh=True)
    assert again.value.error == "not_signed_in"
    assert emulator.token_requests().get("refresh_token", 0) == before


async def test_a_stored_token_is_due_at_its_refresh_point_exactly(emulator, engine) -> None:
    import time

    _, conn, store = await signed_in(emulator, engine)
    # Brokers without a cache (other servers): the store's record and the clock decide.
    stored = await TokenBroker(store, engine, clock=FixedClock(time.time())).get_token(conn)
    due = stored.refresh_at(300.0)
    before = await TokenBroker(store, engine, clock=FixedClock(due - 0.001)).get_token(conn)
    assert before.access_token == stored.access_token
    at = await TokenBroker(store, engine, clock=FixedClock(due)).get_token(conn)
    assert at.access_token != stored.access_token


async def test_a_sign_in_whose_first_save_failed_still_refreshes(emulator, engine) -> None:
    from tests.core.test_broker import FlakyStore

    store = FlakyStore()
    store.fail_puts = 1
    broker, conn, _ = await signed_in(emulator, engine, store)
    assert store.get("u2m", "emu") is None  # only in memory
    tokens = await broker.get_token(conn, force_refresh=True)
    assert Secret(store.get("u2m", "emu")["refresh_token"]) == tokens.refresh_token


async def test_a_newer_stored_sign_in_wins_over_an_unsaved_older_one(emulator, engine) -> None:
    """A rotated token kept in memory (its save failed) is older than a sign-in stored since
    (another window, another server): the store's is used, the memory's is not spent."""
    from tests.core.test_broker import FlakyStore

    store = FlakyStore()
    broker, conn, _ = await signed_in(emulator, engine, store)
    store.fail_puts = 1
    unsaved = await broker.get_token(conn, force_refresh=True)
    await signed_in(emulator, engine, store)  # a new sign-in, stored
    await broker.get_token(conn, force_refresh=True)
    # The unsaved refresh token was not spent: it still works at the IdP.
    assert (await engine.refresh(conn, unsaved.refresh_token)).access_token


async def test_logout_also_forgets_a_rotated_token_kept_only_in_memory(emulator, engine) -> None:
    """A rotation the store refused is kept in memory; logging out must drop it too, or the
    next token request would sign the logged-out user back in with it."""
    from tests.core.test_broker import FlakyStore

    store = FlakyStore()
    broker, conn, _ = await signed_in(emulator, engine, store)
    store.fail_puts = 1
    await broker.get_token(conn, force_refresh=True)  # rotated, kept in memory only
    await broker.logout(conn)
    before = emulator.token_requests().get("refresh_token", 0)
    with pytest.raises(LoginRequired) as info:
        await broker.get_token(conn)
    assert info.value.error == "not_signed_in"
    assert emulator.token_requests().get("refresh_token", 0) == before


async def test_a_notebook_waiting_after_an_error_goes_back_to_it(emulator, engine) -> None:
    broker = TokenBroker(MemoryStore(), engine)
    conn = user_conn(emulator)
    broker._board.set("emu", Status(State.ERROR, "Databricks did not answer.", "Try again."))
    await broker.note_waiting(conn)
    status = await broker.abandon_login(conn, Reason.CANCELLED, None, pending=False)
    assert status == Status(State.ERROR, None, None, reason=Reason.CANCELLED)
