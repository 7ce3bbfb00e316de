"""`%dbx_connect NAME --sql` against the emulator's SQL warehouse, with the real
databricks-sql-connector and the kernel's refreshing credentials provider (in-process backend).

The connector's `TokenFederationProvider` decodes our tokens; their `iss` is on the warehouse's own
host, so it never attempts a token exchange, and, their `exp` being less than its one-minute
buffer away with `--token-ttl 5`, it asks our header factory again on every request.
"""

from __future__ import annotations

import socket
import time

import pytest
from kernel_helpers import ETL_SP, profiles_text

WAREHOUSE = "emu0000000000001"


def run(ip, cell: str, capsys):
    result = ip.run_cell(cell)
    out = capsys.readouterr()
    return result, out.out + out.err


def test_sql_without_warehouse_uses_the_only_running_one(ip, profiles, capsys):
    result, out = run(ip, "%dbx_connect etl --sql", capsys)
    assert result.success, out
    assert out.startswith(f'conn = SQL warehouse "Starter Warehouse" ({WAREHOUSE}) for etl')
    etl = profiles.service_principal(ETL_SP)
    cursor = ip.user_ns["conn"].cursor()
    assert cursor.execute("SELECT current_user()").fetchall()[0][0] == etl["client_id"]
    ip.user_ns["conn"].close()


def test_fetch_a_few_thousand_rows(ip, profiles, capsys):
    result, out = run(ip, f"%dbx_connect etl --sql --warehouse {WAREHOUSE}", capsys)
    assert result.success, out
    conn = ip.user_ns["conn"]
    with conn.cursor(arraysize=1000) as cursor:
        (total,) = cursor.execute("SELECT count(*) FROM samples.nyctaxi.trips").fetchone()
        rows = cursor.execute("SELECT * FROM samples.nyctaxi.trips").fetchall()
    conn.close()
    assert total >= 2000 and len(rows) == total


def test_query_loop_across_three_token_expiries(emulator_factory, databrickscfg, ip, capsys):
    emu = emulator_factory(token_ttl=5)
    databrickscfg(profiles_text(emu))
    result, out = run(ip, "%dbx_connect etl --sql", capsys)
    assert result.success, out
    conn = ip.user_ns["conn"]
    seen: set[int] = set()
    queries = 0
    end = time.monotonic() + 17  # three 5-second lifetimes and some
    with conn.cursor() as cursor:
        while time.monotonic() < end:
            assert cursor.execute("SELECT count(*) FROM samples.nyctaxi.trips").fetchone()[0]
            queries += 1
            seen.add(emu.token_requests().get("client_credentials", 0))
            time.sleep(0.5)
    conn.close()
    grants = emu.token_requests()
    assert grants.get("client_credentials", 0) >= 4  # a new token per lifetime, same connection
    assert len(seen) >= 4 and queries >= 8  # the loop spans 17 s whatever a busy machine allows
    # The connector never tried an RFC 8693 exchange against the warehouse host.
    assert "urn:ietf:params:oauth:grant-type:token-exchange" not in grants


def test_status_with_a_name_lists_its_warehouses_and_http_paths(ip, profiles, capsys):
    result, out = run(ip, "%dbx_status etl", capsys)
    assert result.success, out
    text = repr(result.result)
    assert text.splitlines()[0].split() == ["warehouse", "id", "state", "http", "path"]
    assert f"Starter Warehouse  {WAREHOUSE}  RUNNING  /sql/1.0/warehouses/{WAREHOUSE}" in text
    assert "%dbx_connect etl --sql" in text
    assert f"<td>/sql/1.0/warehouses/{WAREHOUSE}</td>" in result.result._repr_html_()


def test_unknown_warehouse_is_named_with_the_ones_that_exist(ip, profiles, capsys):
    result, out = run(ip, "%dbx_connect etl --sql --warehouse 0123456789abcdef", capsys)
    assert not result.success
    assert "No SQL warehouse 0123456789abcdef" in out
    assert f"Starter Warehouse ({WAREHOUSE}, RUNNING)" in out
    assert "Traceback" not in out and "conn" not in ip.user_ns


def test_unknown_http_path_is_a_clear_404(ip, profiles, capsys):
    result, out = run(ip, "%dbx_connect etl --sql --http-path /sql/1.0/warehouses/nope", capsys)
    assert not result.success
    assert "No SQL warehouse /sql/1.0/warehouses/nope" in out
    assert "Error during request to server" not in out and "Traceback" not in out


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["STOPPED", "STOPPED"], "No SQL warehouse is running"),
        (["RUNNING", "RUNNING"], "Several SQL warehouses are running"),
    ],
)
def test_no_single_running_warehouse_lists_them(
    emulator_factory, databrickscfg, ip, capsys, states, expected
):
    from jupyter_dbx_auth.emulator.seed import default_seed

    seed = default_seed()
    seed["warehouses"] = [
        {"id": f"wh{i}", "name": f"Warehouse {i}", "state": s} for i, s in enumerate(states)
    ]
    emu = emulator_factory(state=seed)
    databrickscfg(profiles_text(emu))
    result, out = run(ip, "%dbx_connect etl --sql", capsys)
    assert not result.success
    assert expected in out
    assert f"Warehouse 0 (wh0, {states[0]}); Warehouse 1 (wh1, {states[1]})" in out
    assert "--warehouse ID" in out and "Traceback" not in out


def test_expired_token_refused_with_a_clear_error(ip, profiles, capsys):
    """The emulator's clock jumps two hours: the kernel's cached token is expired for Databricks
    but not yet for the kernel. Both the REST listing (401) and the Thrift endpoint (403) refuse it,
    and the message says so and what to do."""
    assert run(ip, "%dbx_connect etl", capsys)[0].success  # the cache holds a token now
    profiles.set_clock_offset(7200)
    from jupyter_dbx_auth.kernel.backends import current_backend

    backend = current_backend()
    info = backend.info("etl")
    from jupyter_dbx_auth.kernel.sql import SqlWarehouseError, sql_connect, sql_target
    from jupyter_dbx_auth.kernel.tokens import TokenCache

    cache = TokenCache(backend.fetcher(info))
    cache.token()
    with pytest.raises(SqlWarehouseError, match=r"refused the token .*HTTP 401"):
        sql_target(cache, info.host, None, None)
    started = time.monotonic()
    with pytest.raises(SqlWarehouseError) as refused:
        sql_connect(cache, info.host, http_path=f"/sql/1.0/warehouses/{WAREHOUSE}")
    assert "HTTP 403: Invalid access token." in refused.value.message
    assert "Sign in again" in refused.value.hint
    assert time.monotonic() - started < 15  # refused at once, not retried


def test_unreachable_warehouse_host_fails_fast(emulator, databrickscfg, ip, capsys):
    """Tokens come from the emulator (discovery_url), the workspace host is a closed port."""
    etl = emulator.service_principal(ETL_SP)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    databrickscfg(
        f"[gone]\nhost = http://127.0.0.1:{closed}\n"
        f"discovery_url = {emulator.url}/oidc/.well-known/oauth-authorization-server\n"
        f"client_id = {etl['client_id']}\nclient_secret = {etl['secret']}\n"
    )
    started = time.monotonic()
    result, out = run(ip, "%dbx_connect gone --sql --http-path /sql/1.0/warehouses/x", capsys)
    assert not result.success
    assert f"Cannot reach http://127.0.0.1:{closed}" in out and "proxy" in out
    assert time.monotonic() - started < 30


def test_explain_maps_connector_errors():
    from databricks.sql.exc import RequestError

    from jupyter_dbx_auth.kernel.sql import explain

    host, path = "https://dbc-x.cloud.databricks.com", "/sql/1.0/warehouses/abc"
    starting = explain(
        RequestError("Error during request to server", {"http-code": 503}), host, path
    )
    assert "stopped or still starting" in starting.message and "Start it" in starting.hint
    other = explain(RequestError("Error during request to server", {"http-code": 500}), host, path)
    assert path in other.message and "Connection details" in other.hint


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
