"""Jupyter server for the Galata UI tests: JupyterLab + jupyter-dbx-auth, wired to the emulator.

Galata's helper disables the token and XSRF; with `DBX_UI_AUTH_TOKEN` set (the "auth" Playwright
project's server) both are on again. This file also starts the Databricks emulator for the life of the server and
writes its URL and seeded identities to `.emulator-<port>.json`, where the Playwright tests read
the sign-in password and a service principal's secret (demo values of the emulator, not real
ones); the file is removed when the server stops.

Connections:
- `ws`: the emulator workspace, user sign-in (U2M) with a public custom OAuth app registered with
  exactly this server's callback URLs (Databricks' public databricks-cli app takes only
  http://localhost:8020);
- `etl`: the same workspace as a service principal whose secret is not stored yet;
- `admin-sp`: a service principal whose secret is in this configuration (nothing to add);
- `broken`: a misconfigured connection, shown as an error with its message and hint;
- `public`: user sign-in with Databricks' public `databricks-cli` app (redirect
  http://localhost:8020: handed on by this server, or pasted when it cannot listen there);
- `cli`: the emulator workspace reached as `localhost`, so that its host (the Databricks CLI's
  token-cache key) differs from `ws`'s: the CLI holds a live sign-in for it;
- `cli-stale`: a second emulator workspace whose CLI sign-in the emulator has since revoked.

The Databricks CLI's sign-ins are made here as `databricks auth login` makes them (its public
app, the http://localhost:8020 redirect, the emulator's sign-in form) and written to
`~/.databricks/token-cache.json` under a HOME of this server's own (a temporary directory: the
server reads no one's real CLI sign-in, and kernels it starts get the same HOME).
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from jupyterlab.galata import configure_jupyter_server

from jupyter_dbx_auth.core.connections import AuthMethod, Connection
from jupyter_dbx_auth.core.oauth import OAuthEngine
from jupyter_dbx_auth.emulator.harness import EmulatorProcess

c = get_config()  # noqa: F821
configure_jupyter_server(c)
c.ServerApp.allow_root = True  # CI runs as root
# The "auth" project's server: Galata's helper turned the token and XSRF off; turn both back on,
# so that the labextension's real cookie + XSRF path is what the browser uses.
TOKEN = os.environ.get("DBX_UI_AUTH_TOKEN", "")
if TOKEN:
    c.IdentityProvider.token = TOKEN
    c.ServerApp.disable_check_xsrf = False
# The Makefile picks a free port (playwright.config.ts reads the same variable).
PORT = int(os.environ.get("DBX_UI_PORT", "8898"))
c.ServerApp.port = PORT
c.ServerApp.jpserver_extensions.update({"jupyter_dbx_auth": True})


HERE = Path(__file__).resolve().parent
APP_ID = "jupyter-dbx-auth-ui-tests"
CALLBACKS = [f"http://{host}:{PORT}/dbx-auth/callback" for host in ("localhost", "127.0.0.1")]
emulator = EmulatorProcess(apps={APP_ID: CALLBACKS}).start()
atexit.register(emulator.stop)

etl, admin = (
    next(sp for sp in emulator.config["service_principals"] if sp["display_name"] == name)
    for name in ("emulator-etl-sp", "emulator-admin-sp")
)
SEED_FILE = HERE / f".emulator-{PORT}.json"
SEED_FILE.write_text(json.dumps({"url": emulator.url, **emulator.config}))
atexit.register(SEED_FILE.unlink, missing_ok=True)

c.DatabricksAuth.oauth_client_id = APP_ID
c.DatabricksAuth.include_profiles = False
c.DatabricksAuth.store_backend = "memory"
c.DatabricksAuth.audit_log_path = os.path.join(
    tempfile.mkdtemp(prefix="dbx-ui-audit-"), "audit.log"
)
c.DatabricksAuth.connections = {
    "ws": {"host": emulator.url, "auth_type": "databricks-cli"},
    "etl": {"host": emulator.url, "auth_type": "oauth-m2m", "client_id": etl["client_id"]},
    "admin-sp": {
        "host": emulator.url,
        "auth_type": "oauth-m2m",
        "client_id": admin["client_id"],
        # The emulator's demo secret (`emu-...`), read from its seed at start: not a real one.
        "client_secret": admin["secret"],
    },
    "broken": {"host": "not a url", "auth_type": "databricks-cli"},
    # Databricks' public app (its only redirect: http://localhost:8020), for the paste test.
    "public": {"host": emulator.url, "auth_type": "databricks-cli", "client_id": "databricks-cli"},
}


# -- Databricks CLI sign-ins ("Use my Databricks CLI sign-in") ----------------------------------
def _load_sign_in():
    """tests/browser.py's `sign_in` (fills the emulator's sign-in form), loaded by path: the
    repository root is not importable from here."""
    spec = importlib.util.spec_from_file_location("_dbx_browser", HERE.parent / "browser.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sign_in


def databricks_auth_login(host: str, user: dict) -> dict:
    """What `databricks auth login --host HOST` leaves in its token cache: one entry."""
    sign_in = _load_sign_in()

    async def login():
        engine = OAuthEngine()
        try:
            cli = Connection(name="cli", host=host, method=AuthMethod.USER)  # databricks-cli app
            url, pending = await engine.begin_login(cli, "http://localhost:8020")
            location = await asyncio.to_thread(sign_in, url, user["username"], user["password"])
            code = parse_qs(urlsplit(location).query)["code"][0]
            return await engine.exchange_code(cli, pending, code)
        finally:
            await engine.aclose()

    # The config file runs before the server's event loop exists; a thread keeps it that way.
    with ThreadPoolExecutor(1) as pool:
        tokens = pool.submit(asyncio.run, login()).result()
    expiry = datetime.fromtimestamp(tokens.expires_at or 0, timezone.utc)
    return {
        "access_token": tokens.access_token.reveal(),
        "token_type": "Bearer",
        "refresh_token": tokens.refresh_token.reveal(),
        "expiry": expiry.isoformat().replace("+00:00", "Z"),
    }


def write_token_cache(home: Path, tokens: dict) -> None:
    """`~/.databricks/token-cache.json` as the CLI writes it (0600 in a 0700 directory)."""
    folder = home / ".databricks"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(folder / "token-cache.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"version": 1, "tokens": tokens}, f)


HOME = Path(tempfile.mkdtemp(prefix="dbx-ui-home-"))
os.environ["HOME"] = str(HOME)  # Path.home(): where the server looks for the CLI's sign-ins
atexit.register(shutil.rmtree, HOME, ignore_errors=True)
alice = emulator.config["users"][0]
CLI_HOST = emulator.url.replace("127.0.0.1", "localhost")
# A second workspace for the sign-in the emulator refuses: made, then revoked there (as when the
# CLI's copy was used up by a single-use refresh, or the sign-in was revoked by an admin).
stale_emulator = EmulatorProcess().start()
atexit.register(stale_emulator.stop)
stale_login = databricks_auth_login(stale_emulator.url, alice)
stale_emulator.revoke(alice["username"])
write_token_cache(
    HOME, {CLI_HOST: databricks_auth_login(CLI_HOST, alice), stale_emulator.url: stale_login}
)
c.DatabricksAuth.connections = {
    **c.DatabricksAuth.connections,
    "cli": {"host": CLI_HOST, "auth_type": "databricks-cli"},
    "cli-stale": {"host": stale_emulator.url, "auth_type": "databricks-cli"},
}
