"""The launcher of the UI tests' real hub (`tests/ui-tests/hub_server.py`, Playwright's `webServer`
for the `hub` project): it says when it is ready, serves the hub and its service, and on SIGTERM
stops every process it started and removes its files; without configurable-http-proxy it stops at
once, saying to run `make hub-proxy`. The browser run itself is in
`tests/ui-tests/tests/hub.hub.spec.ts`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from harness import ROOT, free_port, proxy_available

LAUNCHER = ROOT / "tests" / "ui-tests" / "hub_server.py"

pytestmark = pytest.mark.timeout(180)


def _processes_in(workdir: str) -> list[int]:
    """Pids of the processes the launcher's hub started: working directory, command line or
    environment under `workdir` (the hub and its proxy run there, servers in homes there, the
    service with its config file there)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            seen = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if cwd.startswith(workdir) or workdir.encode() in seen:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(
    not proxy_available() and not os.environ.get("CI"),
    reason="configurable-http-proxy not installed: run `make hub-proxy`",
)
def test_ready_line_seed_file_and_a_clean_stop_on_sigterm() -> None:
    port = free_port()
    seed_file = LAUNCHER.parent / f".hub-{port}.json"
    proc = subprocess.Popen(
        [sys.executable, str(LAUNCHER)],
        env={**os.environ, "DBX_UI_HUB_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # as Playwright starts it: a process group of its own
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until ready (or the launcher exits)
        assert line.strip() == f"DBX_UI_HUB_READY http://127.0.0.1:{port}/", (
            line,
            proc.stderr.read() if proc.poll() is not None and proc.stderr else "",
        )
        seed = json.loads(seed_file.read_text())
        assert seed["url"] == f"http://127.0.0.1:{port}/" and seed["connection"] == "emu"
        assert seed["emulator"]["user"]["username"] == "alice@example.com"
        login = httpx.get(f"{seed['url']}hub/login", trust_env=False)
        assert login.status_code == 200 and "username_input" in login.text
        # The service answers through the hub's proxy (403: no hub user on this request).
        status = httpx.get(f"{seed['url']}services/dbx-auth/api/status", trust_env=False)
        assert status.status_code == 403
        workdir = seed["workdir"]
        assert len(_processes_in(workdir)) >= 3, "the hub, its proxy and service should run"

        started = time.monotonic()
        os.killpg(proc.pid, signal.SIGTERM)  # what Playwright's gracefulShutdown sends
        assert proc.wait(timeout=60) == 0
        print(f"stopped in {time.monotonic() - started:.1f} s")
        assert not seed_file.exists()
        deadline = time.monotonic() + 10
        while _processes_in(workdir) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _processes_in(workdir) == [], "a process of the hub outlived the launcher"
        assert not Path(workdir).exists()
        for gone in (f"{seed['url']}hub/login", seed["emulator"]["url"]):
            with pytest.raises(httpx.ConnectError):
                httpx.get(gone, trust_env=False)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        seed_file.unlink(missing_ok=True)


def test_without_the_proxy_it_says_to_run_make_hub_proxy(tmp_path: Path) -> None:
    # The launcher as Playwright runs it, but with the harness's proxy path pointing nowhere.
    code = (
        "import runpy, sys, harness; from pathlib import Path; "
        f"harness.PROXY = Path({str(tmp_path / 'missing')!r}); "
        f"sys.argv = [{str(LAUNCHER)!r}]; runpy.run_path({str(LAUNCHER)!r}, run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'tests' / 'hub'}:{ROOT / 'tests'}:{ROOT}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "run `make hub-proxy`" in result.stderr
    assert "DBX_UI_HUB_READY" not in result.stdout
