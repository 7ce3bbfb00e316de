"""`%dbx_connect ws --spark --serverless` with the real databricks-connect client, end to end.

A real Jupyter server starts a real kernel whose Python is tests/spark's virtualenv (databricks-
connect 16.1.7, numpy < 2: it cannot share the project's). The Spark Connect side of the
workspace is `tests/spark/grpc_recorder.py`: TLS gRPC with a self-signed certificate the kernel
trusts through GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, reached for the emulator's own host through an
HTTP CONNECT proxy (`grpc_proxy`), so the REST side of the same host is the emulator. On every
gRPC call it checks the Bearer token with the emulator's SCIM Me right then and refuses the call
without a valid one. The kernel runs queries for 16 s, three 5-second token lifetimes; then, after
`%dbx_connect ws --env`, a session from Databricks Connect's own builder with no credentials in
code (the metadata service) for two more.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "spark"))

import spark_venv  # noqa: E402 - tests/spark/spark_venv.py

ALICE = "alice@example.com"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


@pytest.fixture(scope="session")
def spark_python() -> Path:
    return spark_venv.ensure()


@pytest.fixture
def dbx_emulator(emulator_factory):
    return emulator_factory(token_ttl=5)


@pytest.fixture
def recorder(spark_python, dbx_emulator, tmp_path):
    proc = subprocess.Popen(
        [str(spark_python), str(ROOT / "tests" / "spark" / "grpc_recorder.py"),
         dbx_emulator.url, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("READY "), line
    try:
        yield {"proxy": int(line.split()[1]), "dir": tmp_path}
    finally:
        proc.kill()
        proc.wait(10)


@pytest.fixture
def spark_kernelspec(jp_data_dir, spark_python, recorder) -> str:
    spec = jp_data_dir / "kernels" / "dbx-spark"
    spec.mkdir(parents=True)
    spec.joinpath("kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(spark_python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python (databricks-connect)",
                "language": "python",
                "env": {
                    "PYTHONPATH": str(ROOT),
                    "grpc_proxy": f"http://127.0.0.1:{recorder['proxy']}",
                    "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": str(recorder["dir"] / "cert.pem"),
                },
            }
        )
    )
    return "dbx-spark"


class Kernel:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def run(self, code: str, timeout: float = 180) -> tuple[str, dict[str, Any]]:
        out: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            content = msg["content"]
            if msg["msg_type"] == "stream":
                out.append(content["text"])
            elif msg["msg_type"] in ("execute_result", "display_data"):
                out.append(content["data"].get("text/plain", ""))
            elif msg["msg_type"] == "error":
                out.append("\n".join(content["traceback"]))

        reply = await self.client.execute_interactive(code, output_hook=hook, timeout=timeout)
        return "".join(out), reply["content"]


@pytest.fixture
async def spark_kernel(jp_serverapp, server_url, spark_kernelspec):
    km = jp_serverapp.kernel_manager
    kid = await km.start_kernel(kernel_name=spark_kernelspec)
    client = km.get_kernel(kid).client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=120)
        yield Kernel(client)
    finally:
        client.stop_channels()
        await km.shutdown_kernel(kid, now=True)


async def test_databricks_connect_session_survives_three_expiries(
    spark_kernel, browser, dbx_emulator, recorder
):
    from server_helpers import login

    await login(browser, dbx_emulator)
    out, reply = await spark_kernel.run(
        "import databricks.connect, sys; print(databricks.connect.__file__, sys.version_info[:2])"
    )
    assert ".venv-spark" in out or "site-packages" in out, out
    await spark_kernel.run("%load_ext jupyter_dbx_auth")
    out, reply = await spark_kernel.run("%dbx_connect ws --spark --serverless")
    assert reply["status"] == "ok", out
    assert "spark = DatabricksSession for ws" in out and ALICE in out, out

    out, reply = await spark_kernel.run(
        "import time\n"
        "queries, end = 0, time.monotonic() + 16\n"
        "while time.monotonic() < end:\n"
        "    assert [r.id for r in spark.range(4).collect()] == [0, 1, 2, 3]\n"
        "    queries += 1\n"
        "    time.sleep(0.5)\n"
        "print('queries', queries, type(spark).__name__)"
    )
    assert reply["status"] == "ok", out
    queries = int(out.split()[1])
    assert queries >= 10, out

    calls = [
        json.loads(line) for line in (recorder["dir"] / "calls.jsonl").read_text().splitlines()
    ]
    assert all(call["user"] == ALICE for call in calls), [c for c in calls if c["user"] != ALICE]
    methods = [call["method"] for call in calls]
    assert methods.count("ExecutePlan") >= queries and "AnalyzePlan" in methods
    assert len({call["token"] for call in calls}) >= 3  # a new token each lifetime

    # With --env, Databricks Connect's own builder signs in with no credentials in code: the SDK
    # config it makes from the environment uses the metadata service.
    out, reply = await spark_kernel.run("%dbx_connect ws --env")
    assert reply["status"] == "ok", out
    out, reply = await spark_kernel.run(
        "from databricks.connect import DatabricksSession\n"
        "plain = DatabricksSession.builder.serverless().getOrCreate()\n"
        "queries, end = 0, time.monotonic() + 11\n"
        "while time.monotonic() < end:\n"
        "    assert [r.id for r in plain.range(2).collect()] == [0, 1]\n"
        "    queries += 1\n"
        "    time.sleep(0.5)\n"
        "from databricks.sdk.config import Config\n"
        "print('plain', queries, Config().auth_type)"
    )
    assert reply["status"] == "ok", out
    assert out.split()[0] == "plain" and out.split()[2] == "metadata-service", out
    lines = (recorder["dir"] / "calls.jsonl").read_text().splitlines()
    later = [json.loads(line) for line in lines][len(calls) :]
    assert later and all(call["user"] == ALICE for call in later), later
    assert len({call["token"] for call in later}) >= 2  # across at least one expiry
