"""`%dbx_connect` and friends in an IPython InteractiveShell, in-process (no Jupyter server)."""

from __future__ import annotations

import time

import pytest
from kernel_helpers import CANARY, ETL_SP, profiles_text


def run(ip, cell: str, capsys):
    result = ip.run_cell(cell)
    out = capsys.readouterr()
    return result, out.out + out.err


def test_load_ext_registers_magics_without_importing_the_sdk(ip):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    magics = ip.magics_manager.magics["line"]
    for name in ("dbx_connect", "dbx_status", "dbx_logout", "dbx_login"):
        assert name in magics
    # Other tests import the sdk into this process, so the check runs in a fresh interpreter:
    # `%load_ext` must not pay for `import databricks.sdk` (~2 s cold) or the SQL connector.
    probe = (
        "import json, sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.instance().run_line_magic('load_ext', 'jupyter_dbx_auth')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('databricks', "
        "'jupyter_dbx_auth.kernel')))))\n"
    )
    repo = str(Path(__file__).resolve().parents[2])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")])),
    }
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert "jupyter_dbx_auth.kernel.magics" in loaded  # the probe did load the extension
    assert not [m for m in loaded if m.startswith("databricks")], loaded


def test_connect_m2m_profile_workspace_client(ip, profiles, capsys):
    result, out = run(ip, "%dbx_connect etl", capsys)
    assert result.success, out
    w = ip.user_ns["w"]
    assert w.config.auth_type == "jupyter-dbx-auth"
    assert w.current_user.me().display_name == ETL_SP
    assert [c.cluster_name for c in w.clusters.list()] == ["shared-autoscaling"]
    assert "w = WorkspaceClient for etl" in out
    assert f"service principal {ETL_SP}" in out and "token valid " in out and "(until " in out
    assert "Traceback" not in out


def test_connect_as_variable(ip, profiles, capsys):
    result, out = run(ip, "%dbx_connect etl --as prod", capsys)
    assert result.success, out
    assert "w" not in ip.user_ns
    assert ip.user_ns["prod"].current_user.me().display_name == ETL_SP
    assert out.startswith("prod = WorkspaceClient")


def test_connect_says_which_variable_it_replaced(ip, profiles, capsys):
    result, out = run(ip, "%dbx_connect etl", capsys)
    assert result.success and "replaced" not in out, out
    ip.user_ns["w2"] = 42
    result, out = run(ip, "%dbx_connect etl --as w2", capsys)
    assert "replaced w2 (was: a int)" in out
    result, out = run(ip, "%dbx_connect admin --as w", capsys)
    assert result.success, out
    assert f"replaced w (was: WorkspaceClient for etl as service principal {ETL_SP}" in out


def test_connect_account_client(ip, profiles, capsys):
    result, out = run(ip, "%dbx_connect admin --account", capsys)
    assert result.success, out
    a = ip.user_ns["a"]
    assert type(a).__name__ == "AccountClient"
    assert a.config.auth_type == "jupyter-dbx-auth"
    names = {sp.display_name for sp in a.service_principals.list()}
    assert ETL_SP in names
    assert out.startswith("a = AccountClient for admin#account")


def test_connect_from_environment_default(ip, emulator, monkeypatch, capsys):
    sp = emulator.service_principal(ETL_SP)
    monkeypatch.setenv("DATABRICKS_HOST", emulator.url)
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", sp["client_id"])
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", sp["secret"])
    result, out = run(ip, "%dbx_connect", capsys)
    assert result.success, out
    assert ip.user_ns["w"].current_user.me().display_name == ETL_SP
    result, out = run(ip, f"%dbx_connect --host {emulator.url} --as w2", capsys)
    assert result.success, out
    assert ip.user_ns["w2"].current_user.me().display_name == ETL_SP


def test_client_keeps_working_across_three_expiries(ip, emulator_factory, databrickscfg, capsys):
    emu = emulator_factory(token_ttl=5)
    databrickscfg(profiles_text(emu))
    result, out = run(ip, "%dbx_connect etl", capsys)
    assert result.success, out
    w = ip.user_ns["w"]
    cache = w.config._credentials_strategy.cache
    seen = set()
    end = time.monotonic() + 16  # three 5-second lifetimes
    while time.monotonic() < end:
        assert w.current_user.me().display_name == ETL_SP
        seen.add(cache.peek().access_token.reveal())
        time.sleep(0.5)
    assert len(seen) >= 4
    grants = emu.token_requests()
    assert 4 <= grants.get("client_credentials", 0) <= 10, grants  # refreshed, not per request


def test_u2m_without_server_says_it_needs_one(ip, profiles, capsys):
    result, out = run(ip, "%dbx_connect me", capsys)
    assert not result.success
    assert "needs the Jupyter server" in out
    assert "jupyter lab" in out
    assert "Traceback" not in out
    assert "w" not in ip.user_ns


def test_sp_without_secret_says_how_to_add_one(ip, profiles, capsys):
    result, out = run(ip, "%dbx_connect nosecret", capsys)
    assert not result.success
    assert "No OAuth secret is stored for service principal" in out
    assert "DATABRICKS_CLIENT_SECRET" in out and "picker()" in out
    assert "Traceback" not in out


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("%dbx_connect --bogus", "unrecognized arguments"),
        ("%dbx_connect nosuchprofile", "nosuchprofile"),
        ("%dbx_connect etl --as 1x", "not a Python name"),
        ("%dbx_connect etl --sql --warehouse nope", "No SQL warehouse nope"),
        ("%dbx_connect etl --user", "not as a user"),
        ("%dbx_connect etl --user --sp x", "cannot be combined"),
        ("%dbx_connect etl --sp nobody", "No secret is stored for service principal 'nobody'"),
        ("%dbx_connect --host ftp://example.com", "host"),
        ("%dbx_connect etl --timeout abc", "invalid float value"),
    ],
)
def test_bad_arguments_give_a_clear_error_without_traceback(ip, profiles, capsys, line, expected):
    result, out = run(ip, line, capsys)
    assert not result.success
    assert expected in out, out
    assert "Traceback" not in out
    assert not {"w", "a", "conn"} & set(ip.user_ns)


def test_status_logout_and_completion(ip, profiles, capsys):
    run(ip, "%dbx_connect etl", capsys)
    result, out = run(ip, "%dbx_status", capsys)
    assert result.success
    table = result.result
    text = repr(table)
    assert "etl" in text and "m2m" in text and "me" in text and "needs Jupyter server" in text
    assert "<table>" in table._repr_html_()
    _, matches = ip.complete("", "%dbx_connect e")
    assert "etl" in matches
    _, matches = ip.complete("", "%dbx_connect ")
    assert {"etl", "admin", "me", "nosecret"} <= set(matches)
    result, out = run(ip, "%dbx_logout etl", capsys)
    assert result.success and "Signed out of etl" in out


def test_no_secret_in_outputs_reprs_or_namespace(ip, emulator, databrickscfg, capsys):
    """A canary planted as a client secret appears in no output, repr or error message."""
    etl = emulator.service_principal(ETL_SP)
    databrickscfg(
        profiles_text(emulator)
        + f"\n[canary]\nhost = {emulator.url}\nclient_id = {etl['client_id']}\n"
        f"client_secret = {CANARY}\n"
    )
    result, out = run(ip, "%dbx_connect canary", capsys)
    assert not result.success  # the emulator rejects the canary
    assert "rejected" in out or "invalid_client" in out, out
    run(ip, "%dbx_connect etl", capsys)
    _, status = run(ip, "%dbx_status", capsys)
    w = ip.user_ns["w"]
    blobs = [out, status, repr(w.config), repr(w.config._credentials_strategy)]
    blobs += [repr(v) for v in ip.user_ns.values()]
    for blob in blobs:
        assert CANARY not in blob
        assert etl["secret"] not in blob
