"""The SQL connection's requests carry a fresh Bearer token each time.

No SQL warehouse emulator exists yet, so `%dbx_connect --sql` opens a *real*
databricks-sql-connector connection (Thrift over HTTP) to `RecordingWarehouse`, a loopback
endpoint built on the connector's own server-side Thrift processor that records every request's
Authorization header. The profile's host is the warehouse endpoint and its `discovery_url` points
at the emulator's OIDC document, so the tokens are real emulator JWTs (3-second lifetime): the
connector's `TokenFederationProvider` decodes them, finds `iss` on the same host as the warehouse
(127.0.0.1, ports are ignored) and does not try a token exchange, and, their `exp` being less than
its one-minute buffer away, asks our header factory again on every request.
"""

from __future__ import annotations

import time

import jwt
import pytest
from fake_warehouse import RecordingWarehouse
from kernel_helpers import ETL_SP


@pytest.fixture
def warehouse():
    with RecordingWarehouse() as wh:
        yield wh


@pytest.fixture
def sql_profile(emulator_factory, databrickscfg, warehouse):
    emu = emulator_factory(token_ttl=3)
    etl = emu.service_principal(ETL_SP)
    databrickscfg(
        f"[wh]\nhost = {warehouse.url}\n"
        f"discovery_url = {emu.url}/oidc/.well-known/oauth-authorization-server\n"
        f"client_id = {etl['client_id']}\nclient_secret = {etl['secret']}\n"
    )
    return emu


def test_sql_requests_carry_a_fresh_token_each_time(ip, sql_profile, warehouse, capsys):
    result = ip.run_cell("%dbx_connect wh --sql --warehouse abc123")
    out = capsys.readouterr().out
    assert result.success, out
    assert out.startswith("conn = SQL for wh")
    conn = ip.user_ns["conn"]
    cursor = conn.cursor()
    sent: list[tuple[float, str]] = []
    end = time.monotonic() + 8  # more than two 3-second lifetimes
    while time.monotonic() < end:
        before = len(warehouse.requests)
        assert cursor.execute("SELECT 1").fetchall()[0].one == 1
        # Judged at the moment the warehouse received each request, not when the call returned:
        # on a busy machine a call can outlive a 3-second token that was valid when it was sent.
        received = zip(warehouse.received_at[before:], warehouse.requests[before:], strict=False)
        sent += [(when, auth) for when, (_, auth) in received]
        time.sleep(0.5)
    conn.close()

    # The Thrift calls, plus the one SCIM Me that names the identity in the summary line.
    paths = {path for path, _ in warehouse.requests}
    assert paths == {"/sql/1.0/warehouses/abc123", "/api/2.0/preview/scim/v2/Me"}, paths
    tokens = set()
    for when, auth in sent:
        assert auth and auth.startswith("Bearer ")
        claims = jwt.decode(auth[7:], options={"verify_signature": False})
        assert claims["exp"] > when  # never an expired token
        assert claims["iss"].startswith(sql_profile.url)  # an emulator token, not exchanged
        tokens.add(auth)
    assert len(tokens) >= 3  # a new token per lifetime, on the same open connection
    # No RFC 8693 exchange was attempted against the warehouse host.
    assert not [p for p, _ in warehouse.requests if "oidc" in p]
    grants = sql_profile.token_requests()
    assert "urn:ietf:params:oauth:grant-type:token-exchange" not in grants


def test_credentials_provider_follows_the_connector_contract():
    """Called once, it returns the header factory; the factory is called per request."""
    from jupyter_dbx_auth.core.secret import Secret
    from jupyter_dbx_auth.kernel.sql import credentials_provider
    from jupyter_dbx_auth.kernel.tokens import KernelToken, TokenCache

    calls = []

    def fetch(rejected: KernelToken | None) -> KernelToken:
        calls.append(rejected)
        return KernelToken(Secret(f"t{len(calls)}"), time.time() + 3600)

    factory = credentials_provider(TokenCache(fetch))()
    assert factory() == {"Authorization": "Bearer t1"}
    assert factory() == {"Authorization": "Bearer t1"}
    assert calls == [None]
