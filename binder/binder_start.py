"""What `binder/start` does before it hands over to the Jupyter server.

1. Starts the Databricks emulator on a free loopback port, without an admin surface. It keeps
   running after this script exits, in the start script's process group.
   With `--public-url` (DBX_EMULATOR_PUBLIC_URL, or derived from JUPYTERHUB_PUBLIC_URL) its
   discovery documents send browsers to the proxied sign-in page; everything else stays loopback.
2. Writes the demo profiles (`emulator`: sign in as yourself, `emulator-sp`: a service principal)
   pointing at the emulator's loopback URL, which the server and kernels use. A Databricks host
   has no path, so the emulator serves at its root there (no --base-path).
3. Writes a Jupyter config: jupyter-server-proxy serves the running emulator at
   `{base_url}dbx-emulator/` (base_url from JUPYTERHUB_SERVICE_PREFIX, as Binder sets it),
   stripping that prefix; the emulator's sign-in page posts to a relative URL, so it works there;
   the demo's encrypted token store; the public `databricks-cli` app for signing in as yourself
   (it ends on http://localhost:8020/?code=..., which the person pastes); the example notebook
   as the landing page.

Everything goes to $DBX_DEMO_DIR (default ~/.dbx-demo), 0700.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
READY_PREFIX = "JUPYTER_DBX_EMULATOR_READY "
START_TIMEOUT = 60.0
PROXY_NAME = "dbx-emulator"
LANDING_NOTEBOOK = "docs/notebooks/00-start-here.ipynb"


def base_url() -> str:
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/"
    return "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"


def public_emulator_url() -> str | None:
    """Where a browser reaches the proxied emulator, for its authorize URL (`--public-url`).

    DBX_EMULATOR_PUBLIC_URL when set; else the origin of JUPYTERHUB_PUBLIC_URL (JupyterHub sets
    it when the hub knows its public URL) plus this server's base_url and the proxy name. None:
    the browser would be sent to the emulator's loopback address, which works only when the
    browser runs on this machine.
    """
    explicit = os.environ.get("DBX_EMULATOR_PUBLIC_URL", "").strip()
    if explicit:
        return explicit.rstrip("/")
    hub = urllib.parse.urlsplit(os.environ.get("JUPYTERHUB_PUBLIC_URL", "").strip())
    if hub.scheme in ("http", "https") and hub.netloc:
        return f"{hub.scheme}://{hub.netloc}{base_url()}{PROXY_NAME}"
    return None


def start_emulator(demo: Path, public_url: str | None) -> dict:
    log_path = demo / "emulator.log"
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_DBX_EMULATOR_ADMIN_KEY"}
    with log_path.open("w") as log:
        command = [sys.executable, "-m", "jupyter_dbx_auth.emulator", "--host", "127.0.0.1"]
        if public_url:
            command += ["--public-url", public_url]
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [*command, "--port", "0"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**env, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for line in log_path.read_text().splitlines():
            if line.startswith(READY_PREFIX):
                return json.loads(line[len(READY_PREFIX) :])
        time.sleep(0.2)
    raise SystemExit(f"binder/start: the emulator did not start; see {log_path}")


def jupyter_config(demo: Path, port: int) -> dict:
    return {
        "ServerProxy": {
            "servers": {
                PROXY_NAME: {
                    "port": port,
                    "absolute_url": False,  # the prefix is stripped: the emulator serves at /
                    "launcher_entry": {"enabled": False},
                }
            }
        },
        # `jupyter lab` takes its landing page from LabApp, a plain server from ServerApp.
        "ServerApp": {"default_url": f"/lab/tree/{LANDING_NOTEBOOK}"},
        "LabApp": {"default_url": f"/lab/tree/{LANDING_NOTEBOOK}"},
        "DatabricksAuth": {
            # The public databricks-cli app, as on a workspace with no custom app: its redirect
            # is http://localhost:8020, so a Binder user pastes the address the sign-in ends on.
            "oauth_client_id": None,
            "store_backend": "file",
            "store_path": str(demo / "store"),
            "audit_log_path": str(demo / "audit.log"),
        },
    }


def main() -> int:
    sys.path.insert(0, str(HERE))
    from demo import write_databrickscfg  # binder/demo.py: the same profiles as `make demo`

    from jupyter_dbx_auth.emulator.seed import load_seed, public_config

    demo = Path(os.environ.get("DBX_DEMO_DIR") or Path.home() / ".dbx-demo")
    demo.mkdir(mode=0o700, parents=True, exist_ok=True)
    demo.chmod(0o700)
    shutil.rmtree(demo / "store", ignore_errors=True)  # the emulator forgets tokens on restart

    proxied = base_url() + PROXY_NAME
    public_url = public_emulator_url()
    ready = start_emulator(demo, public_url)
    config = public_config(load_seed(None))
    write_databrickscfg(demo / "databrickscfg", ready["url"], config)
    config_dir = demo / "jupyter-config"
    config_dir.mkdir(mode=0o700, exist_ok=True)
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps(jupyter_config(demo, ready["port"]), indent=2)
    )
    user = config["users"][0]
    if public_url is None:
        print(
            "binder/start: neither DBX_EMULATOR_PUBLIC_URL nor JUPYTERHUB_PUBLIC_URL is set, so "
            f"the emulator's sign-in page is sent to browsers as {ready['url']} (reachable only "
            f"from this machine). Set DBX_EMULATOR_PUBLIC_URL to the address of {proxied}/.",
            flush=True,
        )
    print(
        f"jupyter-dbx-auth on Binder: Databricks emulator at {proxied}/ (API on {ready['url']}); "
        f"demo user {user['username']} / {user['password']}; profiles emulator, emulator-sp.",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
