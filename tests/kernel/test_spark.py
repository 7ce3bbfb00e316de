"""`%dbx_connect NAME --spark`: the injection, with a stand-in `databricks.connect` module.

databricks-connect pins numpy < 2 and cannot share this virtualenv (see tests/spark/ for the real
client against a recording gRPC endpoint). Here a stub `DatabricksSession.builder` records the
`Config` it is given and, like Databricks Connect's `UnifiedAuthMetadata`, asks it for headers on
every "call": the headers must carry a valid token (SCIM Me at the emulator) across three 5 s
token lifetimes, and the config must carry our credentials strategy, not a token.
"""

from __future__ import annotations

import sys
import time
import types
from typing import Any

import httpx
import pytest
from kernel_helpers import ETL_SP, profiles_text

ME = "{}/api/2.0/preview/scim/v2/Me"


class StubSession:
    def __init__(self, config: Any) -> None:
        self.config = config

    def call(self) -> str:
        """What one gRPC call of Databricks Connect does for auth: `Config.authenticate()`."""
        return self.config.authenticate()["Authorization"]


class StubBuilder:
    built: list[StubSession] = []

    def sdkConfig(self, config: Any) -> StubBuilder:  # Databricks Connect's names
        self._config = config
        return self

    def getOrCreate(self) -> StubSession:
        session = StubSession(self._config)
        StubBuilder.built.append(session)
        return session


@pytest.fixture
def stub_connect(monkeypatch):
    module = types.ModuleType("databricks.connect")
    module.DatabricksSession = types.SimpleNamespace(builder=StubBuilder())  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "databricks.connect", module)
    StubBuilder.built = []
    return StubBuilder


def test_spark_session_survives_three_expiries(ip, emulator_factory, databrickscfg, stub_connect):
    emu = emulator_factory(token_ttl=5)
    databrickscfg(profiles_text(emu))
    result = ip.run_cell("%dbx_connect etl --spark --cluster 0123-456789-abcdefgh")
    assert result.success, result.error_in_exec
    spark = ip.user_ns["spark"]
    assert spark is stub_connect.built[-1]
    cfg = spark.config
    assert cfg.cluster_id == "0123-456789-abcdefgh" and cfg.serverless_compute_id is None
    assert cfg.auth_type == "jupyter-dbx-auth" and not cfg.token
    seen: set[str] = set()
    end = time.monotonic() + 16
    with httpx.Client(trust_env=False, timeout=10) as http:
        while time.monotonic() < end:
            header = spark.call()
            me = http.get(ME.format(emu.url), headers={"Authorization": header})
            assert me.status_code == 200, me.text
            assert me.json()["displayName"] == ETL_SP
            seen.add(header)
            time.sleep(0.5)
    assert len(seen) >= 3  # a new token each lifetime, asked for by the session itself


def test_serverless_and_option_errors(ip, profiles, stub_connect, capsys):
    assert ip.run_cell("%dbx_connect etl --spark --serverless --as s").success
    assert ip.user_ns["s"].config.serverless_compute_id == "auto"
    assert ip.user_ns["s"].config.cluster_id is None

    for line, words in [
        ("%dbx_connect etl --spark", "needs compute"),
        ("%dbx_connect etl --cluster a --serverless", "cannot be combined"),
        ("%dbx_connect etl --spark --sql --warehouse x --serverless", "cannot be combined"),
    ]:
        capsys.readouterr()
        result = ip.run_cell(line)
        out = capsys.readouterr()
        assert not result.success, line
        assert words in out.out + out.err and "Traceback" not in out.out + out.err


def test_clear_message_when_databricks_connect_is_missing(ip, profiles, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "databricks.connect", None)  # import raises ImportError
    result = ip.run_cell("%dbx_connect etl --spark --serverless")
    out = capsys.readouterr()
    text = out.out + out.err
    assert not result.success
    assert "Databricks Connect is not installed" in text
    assert "jupyter-dbx-auth[spark]" in text and "Traceback" not in text
