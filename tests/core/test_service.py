"""`AuthService` without any front end: service principals, login state, tokens after a 401."""

from __future__ import annotations

import logging
import threading
import time

import httpx
import pytest

from jupyter_dbx_auth.core.connections import M2M_SCOPES, AuthMethod, Connection
from jupyter_dbx_auth.core.errors import ClientSecretRejected, CredentialsMissing
from jupyter_dbx_auth.core.oauth.tokens import fingerprint
from jupyter_dbx_auth.core.secret import Secret
from jupyter_dbx_auth.core.service import AuthService, ServiceSettings, TooManyRequests
from jupyter_dbx_auth.core.status import State
from jupyter_dbx_auth.core.store import MemoryStore

CANARY = "canary-5b1e77d0-secret"


def sp_conn(emulator, name: str = "etl", **kw) -> Connection:
    kw.setdefault("client_id", emulator.service_principal("emulator-etl-sp")["client_id"])
    return Connection(
        name=name, host=emulator.url, method=AuthMethod.SERVICE_PRINCIPAL, scopes=M2M_SCOPES, **kw
    )


@pytest.fixture
async def make_service():
    made: list[tuple[AuthService, httpx.AsyncClient]] = []

    def make(**kw) -> AuthService:
        http = httpx.AsyncClient(trust_env=False, timeout=20)
        service = AuthService(store=kw.pop("store", MemoryStore()), http=http, **kw)
        made.append((service, http))
        return service

    yield make
    for service, http in made:
        await service.aclose()
        await http.aclose()


async def test_m2m_stored_secret_warnings_and_rejection(emulator, make_service, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    store = MemoryStore()
    service = make_service(store=store, settings=ServiceSettings(secret_expiry_warning_days=30))
    conn = sp_conn(emulator)
    service.remember(conn)
    await service.ready()
    status = await service.broker.load_status(conn)
    assert status.state is State.LOGGED_OUT
    assert status.warnings and status.warnings[0].startswith("Credentials missing")
    with pytest.raises(CredentialsMissing):
        await service.token(conn)
    assert service.broker.status(conn).state is State.ERROR

    with pytest.raises(ClientSecretRejected) as rejected:
        await service.add_service_principal(
            conn,
            client_id=conn.client_id or "",
            client_secret=Secret(CANARY),
            expires_at=None,
            label="",
            user="u",
        )
    assert store.keys("sp") == []  # a rejected secret is never stored

    secret = Secret(emulator.service_principal("emulator-etl-sp")["secret"])
    soon = time.time() + 10 * 86400
    view = await service.add_service_principal(
        conn,
        client_id=conn.client_id or "",
        client_secret=secret,
        expires_at=soon,
        label="etl",
        user="u",
    )
    assert store.keys("sp") == [f"etl/{conn.client_id}"]
    assert "expires in 10 days" in view["warning"] and "client_secret" not in view
    tokens = await service.token(conn)
    assert tokens.refresh_token is None and tokens.access_token
    status = service.broker.status(conn)
    assert status.state is State.OK and "expires in 10 days" in status.warnings[0]

    # A connection carrying its own (canary) secret: rejected, status error, no leak anywhere.
    bad = sp_conn(emulator, name="bad", client_secret=Secret(CANARY))
    with pytest.raises(ClientSecretRejected) as info:
        await service.token(bad)
    assert service.broker.status(bad).state is State.ERROR
    for text in (
        str(info.value),
        repr(info.value),
        str(rejected.value),
        repr(service),
        repr(service.broker),
        repr(bad),
        repr(tokens),
        str(service.broker.status(bad).to_dict()),
        str(await service.list_connections()),
        caplog.text,
    ):
        assert CANARY not in text

    await service.remove_service_principal(conn, conn.client_id or "", user="u")
    assert service.broker.status(conn).state is State.LOGGED_OUT


async def test_a_cached_service_principal_token_needs_no_store_read(emulator, make_service):
    store = MemoryStore()
    service = make_service(store=store)
    ws = Connection(name="ws", host=emulator.url, method=AuthMethod.USER)
    service.remember(ws)
    sp = emulator.service_principal("emulator-etl-sp")
    await service.add_service_principal(
        ws,
        client_id=sp["client_id"],
        client_secret=Secret(sp["secret"]),
        expires_at=None,
        label="",
        user="u",
    )
    as_sp = service.sp_connection(ws, sp["client_id"])
    assert as_sp.client_secret is None and as_sp.name == f"ws#sp:{sp['client_id']}"
    first = await service.token(as_sp)
    reads: list[tuple[str, bool]] = []
    real_get = store.get

    def get(ns: str, key: str):
        reads.append((ns, threading.current_thread() is threading.main_thread()))
        return real_get(ns, key)

    store.get = get  # type: ignore[method-assign]
    for _ in range(5):
        assert await service.token(service.sp_connection(ws, sp["client_id"])) is first
    assert reads == []  # a cached token: no store read, no decryption
    await service.list_connections()
    # Listing: the U2M record is read once to learn its status, in a worker thread; the service
    # principal's warnings come from memory.
    assert reads == [("u2m", False)]
    # The U2M connection beside it is untouched by its service principal.
    assert service.broker.status(ws).state is State.LOGGED_OUT


async def test_a_rejected_token_is_replaced_once_then_rate_limited(emulator, make_service):
    service = make_service(settings=ServiceSettings(forced_refresh_interval=60))
    secret = Secret(emulator.service_principal("emulator-etl-sp")["secret"])
    conn = sp_conn(emulator, client_secret=secret)
    first = await service.token(conn)
    before = emulator.token_requests()["client_credentials"]
    # Many kernels report the same refused token: one new token for all of them.
    second = await service.token(conn, rejected=fingerprint(first.access_token))
    assert second.access_token != first.access_token
    for _ in range(5):
        again = await service.token(conn, rejected=fingerprint(first.access_token))
        assert again.access_token == second.access_token
    assert emulator.token_requests()["client_credentials"] == before + 1
    # The new token refused as well, moments later: another refresh would not help (429).
    with pytest.raises(TooManyRequests) as err:
        await service.token(conn, rejected=fingerprint(second.access_token))
    assert err.value.retry_after > 0 and "refused" in err.value.message
    assert emulator.token_requests()["client_credentials"] == before + 1


async def test_public_url_is_the_callback_whatever_the_host_header(emulator, make_service):
    from jupyter_dbx_auth.core.errors import BadRequest, ConfigError

    service = make_service(
        settings=ServiceSettings(public_url="https://jupyter.example.com/"),
        app=None,
    )
    custom = Connection(name="ws", host=emulator.url, method=AuthMethod.USER, client_id="app")
    for host in ("evil.invalid", "localhost:8888", "jupyter.example.com"):
        uri = service.redirect_uri(custom, protocol="http", host=host, base_url="/user/a/")
        assert uri == "https://jupyter.example.com/user/a/dbx-auth/callback"
    # The public databricks-cli app accepts loopback callbacks only: say what to do instead.
    public_app = Connection(name="cli", host=emulator.url, method=AuthMethod.USER)
    with pytest.raises(BadRequest) as err:
        service.redirect_uri(public_app, protocol="http", host="localhost", base_url="/")
    assert "oauth_client_id" in err.value.hint
    for bad in ("jupyter.example.com", "ftp://x", "https://x/path", "https://x/?q=1"):
        with pytest.raises(ConfigError):
            make_service(settings=ServiceSettings(public_url=bad))


def test_the_login_table_is_bounded_per_client_and_in_all() -> None:
    from jupyter_dbx_auth.core.service import TooManyLogins
    from jupyter_dbx_auth.core.service.pending import PendingLogins

    now = [1000.0]
    table: PendingLogins[str] = PendingLogins(
        ttl=3600, per_user=2, per_client=3, total=5, clock=lambda: now[0]
    )
    for i in range(3):  # three "users" (anonymous per request) from one client
        table.add(f"anon-{i}", "ws", f"s{i}", "p", client="10.0.0.1")
    with pytest.raises(TooManyLogins) as err:
        table.add("anon-3", "ws", "s3", "p", client="10.0.0.1")
    assert err.value.retry_after > 0 and "this client" in err.value.message
    table.add("bob", "ws", "b1", "p", client="10.0.0.2")
    table.add("carol", "ws", "c1", "p", client="10.0.0.3")
    with pytest.raises(TooManyLogins) as err:
        table.add("dave", "ws", "d1", "p", client="10.0.0.4")
    assert "on this server" in err.value.message
    # The TTL as configured (an hour here), not a hidden 600 s: still there after 3,000 s.
    now[0] += 3000
    assert table.take("bob", "b1").user == "bob"
    now[0] += 601
    with pytest.raises(Exception, match="expired"):
        table.take("carol", "c1")
