"""The emulator's SQL warehouse with the real databricks-sql-connector (Thrift over HTTP).

Tokens are obtained as clients obtain them (client credentials, authorization code + PKCE) and
passed to the connector as plain access tokens; the kernel's refreshing provider is tested in
tests/kernel/test_sql.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from browser import sign_in
from databricks import sql
from databricks.sql.exc import RequestError, ServerOperationError

from .helpers import LOOPBACK_REDIRECT, authorize_url, http, pkce_pair, query, token_url
from .test_rest_api import call, m2m_token

WAREHOUSE = "emu0000000000001"
STOPPED = "emu0000000000002"
ETL = "emulator-etl-sp"


def connect(emu, token: str, warehouse: str = WAREHOUSE, **kwargs):
    path = f"/sql/1.0/warehouses/{warehouse}"
    return sql.connect(
        server_hostname="127.0.0.1",
        http_path=path,
        access_token=token,
        # http:// on loopback: the connector's documented override of the URL it builds.
        _connection_uri=emu.url + path,
        enable_telemetry=False,
        **kwargs,
    )


def user_token(
    emu, username="alice@example.com", password="alice-demo-password", scope="sql offline_access"
) -> str:
    verifier, challenge = pkce_pair()
    url = authorize_url(emu, challenge=challenge, scope=scope)
    code = query(sign_in(url, username, password))["code"]
    with http() as c:
        response = c.post(
            token_url(emu),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": LOOPBACK_REDIRECT,
                "client_id": "databricks-cli",
                "code_verifier": verifier,
            },
        )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def scalar(conn, statement: str):
    with conn.cursor() as cursor:
        return cursor.execute(statement).fetchall()[0][0]


def test_current_user_is_the_users_name(emulator):
    with connect(emulator, user_token(emulator)) as conn:
        assert scalar(conn, "SELECT current_user()") == "alice@example.com"
    with connect(emulator, user_token(emulator, "bob@example.com", "bob-demo-password")) as conn:
        assert scalar(conn, "SELECT current_user()") == "bob@example.com"


def test_current_user_of_a_service_principal_is_its_application_id(emulator):
    sp = emulator.service_principal(ETL)
    with connect(emulator, m2m_token(emulator, ETL)) as conn:
        assert scalar(conn, "SELECT current_user()") == sp["client_id"]
        # Braces are optional and session_user is the same function (Databricks SQL reference).
        assert scalar(conn, "SELECT current_user") == sp["client_id"]
        assert scalar(conn, "SELECT session_user()") == sp["client_id"]


def test_a_few_thousand_rows_arrive_whole_across_pages(emulator):
    """A small arraysize makes the connector page with FetchResults: no row lost or repeated."""
    with connect(emulator, m2m_token(emulator, ETL)) as conn, conn.cursor(arraysize=700) as cur:
        total, fares = cur.execute(
            "SELECT count(*), sum(fare_amount) FROM samples.nyctaxi.trips"
        ).fetchall()[0]
        rows = cur.execute(
            "SELECT row_number() OVER () AS n, * FROM samples.nyctaxi.trips"
        ).fetchall()
        columns = [d[0] for d in cur.description]
        types = {d[0]: d[1] for d in cur.description}
    assert total >= 2000
    assert len(rows) == total
    assert sorted(r.n for r in rows) == list(range(1, total + 1))
    assert sum(r.fare_amount for r in rows) == pytest.approx(fares)
    assert columns[1:] == [
        "tpep_pickup_datetime",
        "tpep_dropoff_datetime",
        "trip_distance",
        "fare_amount",
        "pickup_zip",
        "dropoff_zip",
    ]
    assert types["tpep_pickup_datetime"] == "timestamp"
    assert types["pickup_zip"] == "int"
    assert all(r.tpep_dropoff_datetime > r.tpep_pickup_datetime for r in rows)


def test_results_without_arrow_come_as_columns(emulator, monkeypatch):
    """A client that cannot read Arrow (no pyarrow) gets HiveServer2 column-based rows."""
    import databricks.sql.backend.thrift_backend as backend

    monkeypatch.setattr(backend, "pyarrow", None)
    with connect(emulator, m2m_token(emulator, ETL)) as conn, conn.cursor() as cur:
        rows = cur.execute(
            "SELECT 7 AS i, 'x' AS s, NULL::INTEGER AS n, 2.5::DOUBLE AS d, true AS b"
        ).fetchall()
    assert [tuple(r) for r in rows] == [(7, "x", None, 2.5, True)]


def test_sql_errors_come_back_as_the_operations_error(emulator):
    with connect(emulator, m2m_token(emulator, ETL)) as conn, conn.cursor() as cur:
        with pytest.raises(ServerOperationError, match="PARSE_SYNTAX_ERROR"):
            cur.execute("SELEC 1")
        with pytest.raises(ServerOperationError, match="TABLE_OR_VIEW_NOT_FOUND"):
            cur.execute("SELECT * FROM samples.nyctaxi.no_such_table")
        assert cur.execute("SELECT 1 AS one").fetchall()[0].one == 1  # the session lives on


def http_code(exc: RequestError) -> int | None:
    return exc.context.get("http-code")


def test_expired_token_refused_with_403_and_the_reason(emulator):
    token = m2m_token(emulator, ETL)
    emulator.set_clock_offset(7200)
    started = time.monotonic()
    with pytest.raises(RequestError) as info:
        connect(emulator, token)
    assert http_code(info.value) == 403
    assert "Invalid access token" in str(info.value)
    assert time.monotonic() - started < 10  # refused, not retried for 15 minutes


def test_token_expiring_mid_session_refused_on_the_next_call(emulator):
    token = m2m_token(emulator, ETL)
    with connect(emulator, token) as conn:
        assert scalar(conn, "SELECT 1") == 1
        emulator.set_clock_offset(7200)
        with pytest.raises(RequestError) as info:
            scalar(conn, "SELECT 1")
        assert http_code(info.value) == 403
        emulator.set_clock_offset(0)


def test_revoked_token_refused(emulator):
    token = m2m_token(emulator, ETL)
    emulator.revoke(emulator.service_principal(ETL)["client_id"])
    with pytest.raises(RequestError) as info:
        connect(emulator, token)
    assert http_code(info.value) == 403


def test_missing_or_malformed_token_gets_401(emulator):
    path = f"/sql/1.0/warehouses/{WAREHOUSE}"
    assert call(emulator, path, method="POST", content=b"x").status_code == 401
    assert call(emulator, path, "not-a-token", method="POST", content=b"x").status_code == 401


def test_token_without_sql_scope_gets_403(emulator):
    token = user_token(emulator, scope="openid email profile")
    response = call(emulator, f"/sql/1.0/warehouses/{WAREHOUSE}", token, method="POST")
    assert response.status_code == 403


def test_unknown_warehouse_gets_404(emulator):
    with pytest.raises(RequestError) as info:
        connect(emulator, m2m_token(emulator, ETL), warehouse="0123456789abcdef")
    assert http_code(info.value) == 404


def thrift_client(emu, token: str):
    """A bare Thrift client: lets a test present any token on any handle."""
    from databricks.sql.thrift_api.TCLIService import TCLIService
    from thrift.protocol import TBinaryProtocol
    from thrift.transport import THttpClient

    transport = THttpClient.THttpClient(f"{emu.url}/sql/1.0/warehouses/{WAREHOUSE}")
    transport.setCustomHeaders({"Authorization": f"Bearer {token}"})
    return TCLIService.Client(TBinaryProtocol.TBinaryProtocol(transport))


def test_sessions_belong_to_their_principal(emulator):
    """Another principal's token on an open session is refused (the stricter choice)."""
    from databricks.sql.thrift_api.TCLIService import ttypes

    owner = thrift_client(emulator, m2m_token(emulator, ETL))
    other = thrift_client(emulator, m2m_token(emulator, "emulator-admin-sp"))
    opened = owner.OpenSession(ttypes.TOpenSessionReq(client_protocol_i64=42247))
    assert opened.status.statusCode == ttypes.TStatusCode.SUCCESS_STATUS
    request = ttypes.TExecuteStatementReq(sessionHandle=opened.sessionHandle, statement="SELECT 1")
    refused = other.ExecuteStatement(request)
    assert refused.status.statusCode == ttypes.TStatusCode.INVALID_HANDLE_STATUS
    assert owner.ExecuteStatement(request).status.statusCode == ttypes.TStatusCode.SUCCESS_STATUS


@pytest.fixture
def two_warehouses(emulator_factory):
    from jupyter_dbx_auth.emulator.seed import default_seed

    seed = default_seed()
    seed["warehouses"].append(
        {"id": STOPPED, "name": "Stopped Warehouse", "state": "STOPPED", "start_seconds": 2}
    )
    return emulator_factory(state=seed)


def test_stopped_warehouse_starts_on_the_first_query(two_warehouses):
    emu = two_warehouses
    token = m2m_token(emu, ETL)
    listing = call(emu, "/api/2.0/sql/warehouses", token).json()["warehouses"]
    assert {w["id"]: w["state"] for w in listing} == {WAREHOUSE: "RUNNING", STOPPED: "STOPPED"}
    waking = call(emu, f"/sql/1.0/warehouses/{STOPPED}", token, method="POST", content=b"")
    assert waking.status_code == 503 and 1 <= int(waking.headers["Retry-After"]) <= 2
    started = time.monotonic()
    # The connector sleeps at least `_retry_delay_max` (60 s by default) before retrying a 503.
    with connect(emu, token, warehouse=STOPPED, _retry_delay_max=1) as conn:
        assert scalar(conn, "SELECT count(*) FROM samples.nyctaxi.trips") > 0
    assert time.monotonic() - started >= 2  # the connector waited out the 503s
    assert call(emu, f"/api/2.0/sql/warehouses/{STOPPED}", token).json()["state"] == "RUNNING"


def test_warehouse_rest_get_start_stop(two_warehouses):
    emu = two_warehouses
    admin, etl = m2m_token(emu, "emulator-admin-sp"), m2m_token(emu, ETL)
    one = call(emu, f"/api/2.0/sql/warehouses/{WAREHOUSE}", etl).json()
    assert one["odbc_params"]["path"] == f"/sql/1.0/warehouses/{WAREHOUSE}"
    assert one["odbc_params"]["port"] == emu.port
    missing = call(emu, "/api/2.0/sql/warehouses/nope", etl)
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert call(emu, f"/api/2.0/sql/warehouses/{WAREHOUSE}/stop", etl, "POST").status_code == 403
    assert call(emu, f"/api/2.0/sql/warehouses/{WAREHOUSE}/stop", admin, "POST").status_code == 200
    assert call(emu, f"/api/2.0/sql/warehouses/{WAREHOUSE}", etl).json()["state"] == "STOPPED"
    assert call(emu, f"/api/2.0/sql/warehouses/{WAREHOUSE}/start", admin, "POST").status_code == 200
    assert call(emu, f"/api/2.0/sql/warehouses/{WAREHOUSE}", etl).json()["state"] == "STARTING"


def test_print_config_lists_warehouses_with_http_paths():
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_dbx_auth.emulator", "--print-config"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    warehouses = json.loads(out)["warehouses"]
    assert warehouses == [
        {
            "id": WAREHOUSE,
            "name": "Starter Warehouse",
            "state": "RUNNING",
            "http_path": f"/sql/1.0/warehouses/{WAREHOUSE}",
        }
    ]


def test_warehouse_behind_a_base_path(emulator_factory):
    emu = emulator_factory(base_path="/proxy/dbx-emulator")
    with connect(emu, m2m_token(emu, ETL)) as conn:
        assert scalar(conn, "SELECT 40 + 2") == 42
