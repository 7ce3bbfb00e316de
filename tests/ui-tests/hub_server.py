"""A real local JupyterHub for the `hub` Playwright project (`tests/hub.hub.spec.ts`).

Started by Playwright as a `webServer` (playwright.config.ts), it runs until SIGTERM:
- the Databricks emulator, with the hub's OAuth app whose one redirect URL is the hub's callback;
- JupyterHub 6.1 from `tests/hub/harness.py` (configurable-http-proxy from `make hub-proxy`,
  DummyAuthenticator, SimpleLocalProcessSpawner, alice and bob) on `DBX_UI_HUB_PORT`, with the
  hub token service `dbx-auth` (`jupyter-dbx-hub`) configured for one connection, `emu`;
- single-user servers running this checkout's code (`PYTHONPATH`) and the installed labextension,
  in hub mode.

It writes what the spec needs (the hub's URL and password, the emulator's demo sign-in of alice)
to `.hub-<port>.json` beside this file, prints `DBX_UI_HUB_READY <url>` (Playwright waits for that
line), and on SIGTERM or SIGINT stops the hub (with its proxy, service and servers) and the
emulator, keeps the hub's log as `test-results/hub-server.log`, and removes the file and its
temporary directory.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# This checkout's package first, then the hub tests' harness (and `browser`, which it imports).
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "hub"), str(ROOT / "tests")]

from harness import PROXY, Hub, proxy_available  # noqa: E402
from hub_env import add_hub_app, configure_service  # noqa: E402
from hub_mode_env import hub_mode_config  # noqa: E402

from jupyter_dbx_auth.emulator.harness import EmulatorProcess  # noqa: E402
from jupyter_dbx_auth.emulator.seed import default_seed  # noqa: E402

READY = "DBX_UI_HUB_READY"
RESULTS = HERE / "test-results"  # Playwright's outputDir (its default)
USER, EMAIL = "alice", "alice@example.com"


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # unwinds through the `finally` blocks below, which stop everything


def single_user_config(hub: Hub) -> str:
    """Extra hub configuration: the single-user servers' side. Hub mode as the hub-mode tests set
    it up (`tests/hub/hub_mode_env.py`: the environment naming the service and its address, a
    1-second status poll while a sign-in is pending), JupyterLab as the default page, and nothing
    of the machine's own Databricks profiles or keyring."""
    return "\n".join(
        [
            hub_mode_config(hub, poll_interval=1.0),
            "c.Spawner.default_url = '/lab'",
            "c.Spawner.args = list(c.Spawner.args) + ['--DatabricksAuth.include_profiles=False', "
            "'--DatabricksAuth.store_backend=memory']",
        ]
    )


def main() -> int:
    if not proxy_available():
        print(
            f"The hub UI test needs configurable-http-proxy ({PROXY} is missing): "
            "run `make hub-proxy` at the top of the repository (`make test` does).",
            file=sys.stderr,
        )
        return 2
    port = int(os.environ.get("DBX_UI_HUB_PORT", "0")) or None
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="dbx-ui-hub-"))
    hub = Hub(workdir / "hub", port=port)
    seed_file = HERE / f".hub-{hub.port}.json"
    emulator = EmulatorProcess(state=add_hub_app(default_seed(), hub))
    try:
        emulator.start()
        configure_service(
            hub,
            emulator,
            db_url=f"sqlite:///{workdir}/dbx-auth/store.sqlite",
            store_key=secrets.token_hex(32),
            group_sps=False,
        )
        hub.extra_config = single_user_config(hub)
        try:
            hub.start()
        except RuntimeError as error:
            print(f"The hub did not start: {error}", file=sys.stderr)
            return 1
        seed_file.write_text(
            json.dumps(
                {
                    "url": hub.url,
                    "user": USER,
                    "password": hub.password,  # DummyAuthenticator's, for this run only
                    "connection": "emu",
                    "emulator": {"url": emulator.url, "user": emulator.user(EMAIL)},
                    "workdir": str(workdir),  # hub.log is there while it runs
                }
            )
        )
        print(
            f"hub, dbx-auth service and emulator up in {time.monotonic() - started:.1f} s",
            file=sys.stderr,
        )
        print(f"{READY} {hub.url}", flush=True)
        while True:
            signal.pause()
    finally:
        seed_file.unlink(missing_ok=True)
        hub.stop()
        emulator.stop()
        keep_log(hub.workdir / "hub.log")
        shutil.rmtree(workdir, ignore_errors=True)


def keep_log(log: Path) -> None:
    """The hub's log (its servers' and service's output too) into Playwright's output folder,
    which the next run clears: what to read when a hub step failed."""
    if log.exists():
        RESULTS.mkdir(exist_ok=True)
        shutil.copyfile(log, RESULTS / "hub-server.log")


if __name__ == "__main__":
    sys.exit(main())
