"""`make demo`: start the Databricks emulator and JupyterLab wired to it. Ctrl-C stops both.

Everything the demo writes lives in `.demo/` (git-ignored): a `.databrickscfg` with one profile per
way to connect, a Jupyter config, the encrypted store and its key (kept, so a sign-in survives a
restart), and `notebooks/` with copies of the example notebooks (JupyterLab opens there). The
emulator stands in for Databricks, so no real workspace, account or secret is involved.
`rm -rf .demo` starts clean.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_dbx_auth.emulator.harness import EmulatorProcess

REPO = Path(__file__).resolve().parent.parent
DEMO_DIR = REPO / ".demo"
NOTEBOOKS = DEMO_DIR / "notebooks"
KEY_FILE = DEMO_DIR / "store-key"
KEY_ENV = "JUPYTER_DBX_AUTH_CRYPT_KEY"


def store_key(path: Path) -> str:
    """The demo store's key: made once, kept beside the store (0600), so that a restarted demo
    reads the sign-ins of the last one and the panel has no "generated key" warning to show."""
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


def copy_notebooks(target: Path) -> None:
    """The example notebooks, copied once: edits made in the demo are kept across restarts."""
    target.mkdir(parents=True, exist_ok=True)
    for notebook in sorted((REPO / "docs" / "notebooks").glob("*.ipynb")):
        if not (target / notebook.name).exists():
            shutil.copy2(notebook, target / notebook.name)


# A public OAuth app registered with the emulator for exactly this Jupyter's callback, as an
# admin registers one on Databricks (whose public databricks-cli app takes only localhost:8020).
DEMO_APP = "jupyter-dbx-auth-demo"


def demo_redirects(args: argparse.Namespace) -> list[str]:
    hosts = dict.fromkeys([args.ip, "localhost", "127.0.0.1"])
    return [f"http://{host}:{args.lab_port}/dbx-auth/callback" for host in hosts]


def write_databrickscfg(path: Path, emulator_url: str, config: dict) -> None:
    """Profiles named after what they demonstrate; `%dbx_connect emulator` uses the first."""
    lines = [
        "# Written by `make demo` for the local Databricks emulator. Not a real workspace.",
        "[emulator]",
        f"host = {emulator_url}",
        "auth_type = databricks-cli",
        "",
    ]
    with_secret = [sp for sp in config.get("service_principals", []) if sp.get("secret")]
    if with_secret:
        sp = with_secret[0]
        lines += [
            "[emulator-sp]",
            f"host = {emulator_url}",
            f"client_id = {sp['client_id']}",
            f"client_secret = {sp['secret']}",
            "",
        ]
    path.write_text("\n".join(lines))
    path.chmod(0o600)


def write_jupyter_config(path: Path, args: argparse.Namespace) -> None:
    path.write_text(
        "\n".join(
            [
                "# Written by `make demo`.",
                "c = get_config()  # noqa: F821",
                f"c.ServerApp.ip = {args.ip!r}",
                f"c.ServerApp.port = {args.lab_port}",
                "c.ServerApp.port_retries = 0",
                "c.ServerApp.open_browser = False",
                "c.ServerApp.allow_root = True",
                f"c.ServerApp.root_dir = {str(NOTEBOOKS)!r}",
                # The demo's own encrypted store, kept across restarts (its key is in the
                # environment, from .demo/store-key).
                'c.DatabricksAuth.store_backend = "file"',
                f"c.DatabricksAuth.oauth_client_id = {DEMO_APP!r}",
                f"c.DatabricksAuth.store_path = {str(DEMO_DIR / 'store')!r}",
                f"c.DatabricksAuth.audit_log_path = {str(DEMO_DIR / 'audit.log')!r}",
                "",
            ]
        )
    )


def banner(lab_url: str, emulator_url: str, config: dict) -> str:
    users = config.get("users", [])
    lines = [
        "",
        "jupyter-dbx-auth demo",
        f"  JupyterLab          {lab_url}",
        f"  Databricks emulator {emulator_url}",
    ]
    if users:
        lines.append(
            f"  Sign in to Databricks as {users[0]['username']} "
            f"(password: {users[0]['password']}; a demo identity of the emulator)"
        )
    for wh in config.get("warehouses", []):
        lines.append(
            f"  SQL warehouse       {wh['name']} ({wh['state']}): HTTP path {wh['http_path']}"
            f" -> %dbx_connect emulator --sql"
        )
    lines += [
        f"  Notebooks           {NOTEBOOKS}",
        "  Ctrl-C stops both. Sign-ins are kept for the next `make demo`;",
        "  rm -rf .demo starts clean.",
        "",
    ]
    return "\n".join(lines)


def start_emulator(
    ip: str, port: int, apps: dict[str, list[str]], keep_sign_ins: Path | None = None
) -> EmulatorProcess:
    """The demo's emulator: no admin endpoint (fault knobs are for tests, and the demo's emulator
    is reachable by anyone who can reach `ip`)."""
    from jupyter_dbx_auth.emulator.harness import EmulatorProcess

    return EmulatorProcess(
        host=ip, port=port, apps=apps, admin=False, keep_sign_ins=keep_sign_ins
    ).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--lab-port", type=int, default=8888)
    parser.add_argument("--emulator-port", type=int, default=8765)
    args = parser.parse_args(argv)

    DEMO_DIR.mkdir(mode=0o700, exist_ok=True)
    copy_notebooks(NOTEBOOKS)
    key = store_key(KEY_FILE)
    # The emulator keeps its sign-ins too: without them the kept store would only hold refresh
    # tokens the restarted emulator no longer knows ("sign-in expired").
    emulator = start_emulator(
        args.ip,
        args.emulator_port,
        {DEMO_APP: demo_redirects(args)},
        keep_sign_ins=DEMO_DIR / "emulator-sign-ins.json",
    )
    lab: subprocess.Popen[bytes] | None = None
    try:
        cfg_path = DEMO_DIR / "databrickscfg"
        write_databrickscfg(cfg_path, emulator.url, emulator.config)
        server_config = DEMO_DIR / "jupyter_server_config.py"
        write_jupyter_config(server_config, args)

        token = secrets.token_urlsafe(24)
        env = dict(
            os.environ, DATABRICKS_CONFIG_FILE=str(cfg_path), JUPYTER_TOKEN=token, **{KEY_ENV: key}
        )
        env.pop("DATABRICKS_CONFIG_PROFILE", None)
        lab = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "jupyterlab", f"--config={server_config}"],
            env=env,
        )
        time.sleep(0.5)
        lab_url = f"http://{args.ip}:{args.lab_port}/lab?token={token}"
        print(banner(lab_url, emulator.url, emulator.config), flush=True)
        return lab.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if lab is not None and lab.poll() is None:
            lab.send_signal(signal.SIGINT)
            try:
                lab.wait(timeout=10)
            except subprocess.TimeoutExpired:
                lab.kill()
        emulator.stop()


if __name__ == "__main__":
    sys.exit(main())
