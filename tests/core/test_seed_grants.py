"""Seed behaviours of the token requests, against the emulator over loopback: the code exchange
sends `scope` (seed 003's manual U2M flow), the RFC 8693 exchange sends the configured
`token_audience`, and a workload identity token is read from the server's start-up copy of the
environment (the server removes DATABRICKS_OIDC_TOKEN from its live one, which kernels inherit)."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx

from jupyter_dbx_auth.core.connections import M2M_SCOPES, AuthMethod, Connection
from jupyter_dbx_auth.core.oauth import OAuthEngine
from tests.core.test_oauth_engine import login, user_connection


def recorder() -> tuple[httpx.AsyncClient, list[dict[str, list[str]]]]:
    bodies: list[dict[str, list[str]]] = []

    async def record(request: httpx.Request) -> None:
        if request.url.path.endswith("/token"):
            bodies.append(parse_qs(request.content.decode()))

    return httpx.AsyncClient(trust_env=False, event_hooks={"request": [record]}), bodies


async def test_the_code_exchange_sends_the_scopes(emulator) -> None:
    http, bodies = recorder()
    async with http, OAuthEngine(http=http) as engine:
        conn = user_connection(emulator)
        tokens = await login(engine, emulator, conn)
    assert tokens.access_token
    (exchange,) = [b for b in bodies if b["grant_type"] == ["authorization_code"]]
    assert exchange["scope"] == [" ".join(conn.scopes)]
    assert exchange["redirect_uri"] == ["http://localhost:8020"]


async def test_token_exchange_sends_the_audience_and_reads_the_given_environment(
    emulator, monkeypatch
) -> None:
    federated = emulator.service_principal("emulator-federated-sp")
    monkeypatch.delenv("DATABRICKS_OIDC_TOKEN", raising=False)  # not in the live environment
    conn = Connection(
        name="wif",
        host=emulator.url,
        method=AuthMethod.WORKLOAD_IDENTITY,
        client_id=federated["client_id"],
        oidc_token_env="DATABRICKS_OIDC_TOKEN",
        token_audience=emulator.account_id,
        scopes=M2M_SCOPES,
    )
    http, bodies = recorder()
    environ = {"DATABRICKS_OIDC_TOKEN": emulator.issue_test_oidc_token()}
    async with http, OAuthEngine(http=http, environ=environ) as engine:
        assert (await engine.token_exchange(conn)).access_token
    assert bodies[-1]["audience"] == [emulator.account_id]
