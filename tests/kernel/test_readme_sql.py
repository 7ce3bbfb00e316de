"""README's SQL example, verbatim, in a real kernel of a real Jupyter server set up as `make demo`
sets it up: the demo's `.databrickscfg` (written by binder/demo.py) against a default emulator,
signed in as the demo user."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
from server_helpers import login
from test_e2e_kernel import kernel  # noqa: F401 - the real-kernel fixture

ROOT = Path(__file__).resolve().parent.parent.parent


def readme_sql_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("**SQL.**", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "README's SQL section has no python block"
    return match.group(1)


def demo_module() -> Any:
    spec = importlib.util.spec_from_file_location("binder_demo", ROOT / "binder" / "demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def dbx_extra_config(dbx_emulator, tmp_path, monkeypatch) -> dict[str, Any]:
    # As `make demo`: the demo's profiles file, named by DATABRICKS_CONFIG_FILE.
    path = tmp_path / "databrickscfg"
    demo_module().write_databrickscfg(path, dbx_emulator.url, dbx_emulator.config)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(path))
    return {"include_profiles": True}


async def test_readme_sql_example_runs_in_the_demo(kernel, browser, dbx_emulator):  # noqa: F811
    code = readme_sql_example()
    assert "%dbx_connect emulator --sql" in code
    await login(browser, dbx_emulator, connection="emulator")
    out, reply = await kernel.run("%load_ext jupyter_dbx_auth")
    assert reply["status"] == "ok", out

    out, reply = await kernel.run(code, timeout=90)
    assert reply["status"] == "ok", out
    assert 'conn = SQL warehouse "Starter Warehouse"' in out
    assert "\nalice@example.com\n" in out
    rows = re.findall(r"Row\(pickup_zip=(\d+), trips=(\d+)\)", out)
    assert len(rows) == 3, out
    counts = [int(n) for _, n in rows]
    assert counts == sorted(counts, reverse=True) and counts[0] > 0
    assert "Error" not in out and "Traceback" not in out
