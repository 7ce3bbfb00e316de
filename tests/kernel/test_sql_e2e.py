"""End to end for SQL: a real Jupyter server, a real kernel getting its tokens through the server's
kernel API, the real databricks-sql-connector and the emulator's warehouse (5-second tokens).

`SELECT current_user()` names the signed-in user for a U2M connection and the application id for a
service principal; a query loop on one open connection outlives three token lifetimes.
"""

from __future__ import annotations

from typing import Any

import pytest
from kernel_helpers import ETL_SP
from server_helpers import login
from test_e2e_kernel import kernel  # noqa: F401 - the real-kernel fixture

ALICE = "alice@example.com"


@pytest.fixture
def dbx_emulator(emulator_factory):
    return emulator_factory(token_ttl=5)


@pytest.fixture
def dbx_extra_config(dbx_emulator) -> dict[str, Any]:
    etl = dbx_emulator.service_principal(ETL_SP)
    return {
        "connections": {
            "ws": {"host": dbx_emulator.url, "auth_type": "databricks-cli"},
            "etl": {
                "host": dbx_emulator.url,
                "auth_type": "oauth-m2m",
                "client_id": etl["client_id"],
                "client_secret": etl["secret"],
            },
        }
    }


async def test_sql_in_a_real_kernel_as_user_and_service_principal(
    kernel,  # noqa: F811
    browser,
    dbx_emulator,
):
    await login(browser, dbx_emulator)
    out, reply = await kernel.run("%load_ext jupyter_dbx_auth")
    assert reply["status"] == "ok", out

    out, reply = await kernel.run("%dbx_connect ws --sql")
    assert reply["status"] == "ok", out
    assert out.startswith('conn = SQL warehouse "Starter Warehouse"'), out
    out, reply = await kernel.run(
        "print(conn.cursor().execute('SELECT current_user()').fetchone()[0])"
    )
    assert out.strip() == ALICE, out

    etl = dbx_emulator.service_principal(ETL_SP)
    out, reply = await kernel.run("%dbx_connect etl --sql --as sp_conn")
    assert reply["status"] == "ok", out
    out, reply = await kernel.run(
        "print(sp_conn.cursor().execute('SELECT current_user()').fetchone()[0])"
    )
    assert out.strip() == etl["client_id"], out

    refreshes_before = dbx_emulator.token_requests().get("refresh_token", 0)
    out, reply = await kernel.run(
        "import time\n"
        "cursor, n, end = conn.cursor(), 0, time.monotonic() + 17\n"
        "while time.monotonic() < end:\n"
        f"    assert cursor.execute('SELECT current_user()').fetchone()[0] == {ALICE!r}\n"
        "    n += 1\n"
        "    time.sleep(0.5)\n"
        "print('queries', n)",
        timeout=90,
    )
    assert reply["status"] == "ok", out
    assert int(out.split()[-1]) >= 8
    # The server refreshed the user's token at least once per lifetime meanwhile.
    assert dbx_emulator.token_requests().get("refresh_token", 0) - refreshes_before >= 3
