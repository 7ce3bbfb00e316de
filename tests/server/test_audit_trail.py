"""The audit log tells the story of a session: logins, refreshes, failures, secrets, logout."""

from __future__ import annotations

import asyncio
import json
import logging

from server_helpers import ETL_SP, login

from jupyter_dbx_auth.core.oauth.tokens import fingerprint
from jupyter_dbx_auth.core.secret import Secret


def _entries(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _is_subsequence(wanted: list[tuple], got: list[tuple]) -> bool:
    it = iter(got)
    return all(item in it for item in wanted)


async def test_audit_log_records_each_event_in_order(
    browser, kernel_client, emulator, dbx_app, tmp_path
):
    sp = emulator.service_principal(ETL_SP)

    await login(browser, emulator)
    r = await browser.post(
        "dbx-auth/api/service-principals",
        {"connection": "etl", "client_id": sp["client_id"], "client_secret": "wrong-secret"},
    )
    assert r.status_code == 400
    r = await browser.post(
        "dbx-auth/api/service-principals",
        {"connection": "etl", "client_id": sp["client_id"], "client_secret": sp["secret"]},
    )
    assert r.status_code == 201, r.text
    r = await kernel_client.get("dbx-auth/api/token", params={"connection": "etl"})
    assert r.status_code == 200, r.text
    r = await kernel_client.get("dbx-auth/api/token", params={"connection": "ws"})
    assert r.status_code == 200, r.text
    refused = fingerprint(Secret(r.json()["access_token"]))
    r = await kernel_client.get(
        "dbx-auth/api/token", params={"connection": "ws", "refresh": "1", "rejected": refused}
    )
    assert r.status_code == 200, r.text
    r = await browser.delete(
        "dbx-auth/api/service-principals", {"connection": "etl", "client_id": sp["client_id"]}
    )
    assert r.status_code == 204, r.text
    r = await browser.post("dbx-auth/api/connections/ws/logout")
    assert r.status_code == 200, r.text
    await asyncio.sleep(0.1)

    entries = _entries(tmp_path / "audit.log")
    story = [(e["event"], e.get("connection"), e.get("outcome")) for e in entries]
    assert _is_subsequence(
        [
            ("login", "ws", "started"),
            ("login", "ws", "ok"),
            ("failure", "etl", "rejected"),
            ("secret_added", "etl", "ok"),
            ("refresh", "etl", "ok"),
            ("refresh", "ws", "ok"),
            ("secret_removed", "etl", "ok"),
            ("logout", "ws", "ok"),
        ],
        story,
    ), story
    completed = next(e for e in entries if e["event"] == "login" and e["outcome"] == "ok")
    assert completed["identity"] == "alice@example.com"
    assert all(e["time"].endswith("Z") for e in entries)
    assert sp["secret"] not in (tmp_path / "audit.log").read_text()


def test_audit_log_is_on_by_default_and_can_be_turned_off(_isolated_environment):
    from jupyter_dbx_auth.server.app import DatabricksAuth

    audit = DatabricksAuth()._open_audit()
    assert audit is not None
    assert str(audit.path).startswith(str(_isolated_environment))  # the user's log directory
    assert DatabricksAuth(audit_log_path="")._open_audit() is None


def test_inline_secrets_in_config_are_warned_about_without_naming_them(caplog):
    from jupyter_dbx_auth.server.app import DatabricksAuth

    app = DatabricksAuth(
        connections={"etl": {"host": "https://x.cloud.databricks.com", "client_secret": "s3cr3t"}},
        oauth_client_secret="app-s3cr3t",
    )
    app.log = logging.getLogger("test.dbx_auth")  # traitlets' own logger does not propagate
    with caplog.at_level("WARNING"):
        app._warn_about_inline_secrets()
    assert "connections['etl']['client_secret']" in caplog.text
    assert "oauth_client_secret" in caplog.text
    assert "s3cr3t" not in caplog.text
