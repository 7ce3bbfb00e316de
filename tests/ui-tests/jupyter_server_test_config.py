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
  http://localhost:8020: handed on by this server, or pasted when it cannot listen there).
"""

from __future__ import annotations

import atexit
import json
import os
import tempfile
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

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
