"""`jupyter-dbx-hub`: the hub token service's configuration, as traitlets (like JupyterHub itself).

Every option is `c.DatabricksAuthHub.<name>` in `jupyter_dbx_hub_config.py` (or
`--DatabricksAuthHub.<name>=...`); `jupyter-dbx-hub --generate-config` writes a commented file with
every option and its help, `jupyter-dbx-hub --help-all` prints them, and `jupyter-dbx-hub --check`
validates the configuration and opens the store.

Secrets never come from this file: the store key is `JUPYTER_DBX_AUTH_CRYPT_KEY`, the OAuth app's
secret `JUPYTER_DBX_AUTH_OAUTH_CLIENT_SECRET`, and a group service principal's secret names an
environment variable or a file of the service's own (`client_secret_env` / `client_secret_file`).

Without --check or --generate-config it serves the HTTP API (`handlers`) over `HubTokenService`
(`service`), as the hub-managed service: it listens on $JUPYTERHUB_SERVICE_URL under
$JUPYTERHUB_SERVICE_PREFIX, both set by the hub (or `bind_url`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from traitlets import Bool, Dict, Float, Int, Unicode, default
from traitlets.config import Application, catch_config_error

from .._version import __version__
from ..core.errors import ConfigError, DbxAuthError

DEFAULT_CONFIG_FILE = "jupyter_dbx_hub_config.py"
#: Connection fields that may hold a secret: refused inline (config files get shared and logged).
INLINE_SECRET_FIELDS = ("client_secret", "token", "password")
_SP_FIELDS = {"connection", "client_id", "client_secret_env", "client_secret_file", "expires"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


class DatabricksAuthHub(Application):
    """The JupyterHub token service for Databricks: one OAuth callback for the whole hub, every
    user's refresh tokens and the groups' service principals in one encrypted database, and
    short-lived access tokens for each user's own servers."""

    name = "jupyter-dbx-hub"
    version = __version__
    description = __doc__
    examples = """
    jupyter-dbx-hub --generate-config     # write jupyter_dbx_hub_config.py here
    jupyter-dbx-hub --check               # validate the configuration and open the store
    jupyter-dbx-hub -f /etc/jupyterhub/jupyter_dbx_hub_config.py
    """

    config_file = Unicode(
        DEFAULT_CONFIG_FILE,
        help="The configuration file to load (and to write with --generate-config).",
    ).tag(config=True)
    generate_config = Bool(False, help="Write the default configuration file and exit.").tag(
        config=True
    )
    check = Bool(False, help="Validate the configuration, open the store and exit.").tag(
        config=True
    )

    service_name = Unicode(
        help="""The hub-managed service's name: its URLs live under `/services/<name>/`.
        Default: $JUPYTERHUB_SERVICE_NAME (set by the hub), else `dbx-auth`."""
    ).tag(config=True)

    @default("service_name")
    def _service_name_default(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_NAME") or "dbx-auth"

    public_url = Unicode(
        help="""The hub's public URL as browsers reach it, e.g. `https://hub.example.com/`. The
        redirect URL to register with the Databricks OAuth app is
        `{public_url}services/{service_name}/callback`. Default: derived from
        $JUPYTERHUB_PUBLIC_HUB_URL, which the hub sets when `c.JupyterHub.public_url` is set."""
    ).tag(config=True)

    @default("public_url")
    def _public_url_default(self) -> str:
        hub_url = os.environ.get("JUPYTERHUB_PUBLIC_HUB_URL", "")
        return hub_url[: -len("hub/")] if hub_url.endswith("/hub/") else ""

    db_url = Unicode(
        "sqlite:///jupyter_dbx_hub.sqlite",
        help="""SQLAlchemy URL of the store (JupyterHub's convention): SQLite for one machine,
        `postgresql://user@host/db` in production (psycopg 3 is used). The password may come
        from the URL or from $PGPASSWORD; records are encrypted with $JUPYTER_DBX_AUTH_CRYPT_KEY
        (';'-separated keys, newest first, as $JUPYTERHUB_CRYPT_KEY).""",
    ).tag(config=True)
    lock_timeout = Float(
        60.0, help="Seconds to wait for another replica's lock on one user's record."
    ).tag(config=True)

    oauth_client_id = Unicode(
        help="""Client id of the Databricks OAuth app (account console, App connections) whose
        redirect URL is this service's callback. Its secret, if the app is confidential, comes from
        $JUPYTER_DBX_AUTH_OAUTH_CLIENT_SECRET."""
    ).tag(config=True)
    connections = Dict(
        {},
        help="""Workspaces (or account consoles) users can sign in to: {name: {host, account_id,
        scopes, ...}} with databricks-sdk attribute names, as `c.DatabricksAuth.connections` in a
        single-user server. Users sign in with their own identity (U2M) through the hub's one
        callback; no secret belongs here.""",
    ).tag(config=True)
    group_service_principals = Dict(
        {},
        help="""Service principals per hub group: {group: [{connection, client_id,
        client_secret_env | client_secret_file, expires}]}. Members of the group (and only they)
        get access tokens for it; the secret is read by this service from its own environment or
        file and never leaves it. `expires` (YYYY-MM-DD) drives the admin page's warning.""",
    ).tag(config=True)

    refresh_margin = Float(
        300.0, help="Seconds before expiry at which access tokens are refreshed."
    ).tag(config=True)
    login_ttl = Float(
        600.0, help="Seconds a started sign-in may take before its state is refused."
    ).tag(config=True)
    max_pending_logins = Int(
        8, help="Sign-ins one hub user may have in progress at once (oldest dropped)."
    ).tag(config=True)
    secret_expiry_warning_days = Float(
        30.0, help="Warn on the admin page this many days before a group SP's secret expires."
    ).tag(config=True)
    user_idle_timeout = Float(
        3600.0,
        help="""Seconds after a hub user's last request at which the service forgets what it holds
        for them in memory (cached access tokens, identity), unless a sign-in is under way. Their
        sign-ins stay in the store; the next request reads them again (one refresh).""",
    ).tag(config=True)

    bind_url = Unicode(
        help="""Where this process listens (`http://127.0.0.1:10101`). Default:
        $JUPYTERHUB_SERVICE_URL, which the hub sets for a managed service from its `url`."""
    ).tag(config=True)

    @default("bind_url")
    def _bind_url_default(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101")

    shutdown_timeout = Float(
        20.0,
        help="""Seconds a stopping service (SIGTERM) waits for requests being answered, so that a
        refresh in progress stores its rotated refresh token before the process exits.""",
    ).tag(config=True)

    aliases = {
        "f": "DatabricksAuthHub.config_file",
        "config": "DatabricksAuthHub.config_file",
        "db": "DatabricksAuthHub.db_url",
        "log-level": "Application.log_level",
    }
    flags = {
        "generate-config": (
            {"DatabricksAuthHub": {"generate_config": True}},
            "Write the default configuration file (with every option's help) and exit.",
        ),
        "check": (
            {"DatabricksAuthHub": {"check": True}},
            "Validate the configuration, open the store and exit.",
        ),
    }

    @default("log_level")
    def _log_level_default(self) -> int:
        return logging.INFO  # a long-running service: say what it does

    # -- derived values --
    @property
    def callback_url(self) -> str:
        """The one redirect URL registered with the OAuth app."""
        return f"{self.public_url.rstrip('/')}/services/{self.service_name}/callback"

    def problems(self) -> list[str]:
        """Everything wrong with the configuration, each with what to do; [] when ready."""
        found: list[str] = []
        parsed = urlparse(self.public_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            found.append(
                "The hub's public URL is unknown, so the OAuth callback URL cannot be built: set "
                "c.JupyterHub.public_url (the hub passes it on) or c.DatabricksAuthHub.public_url."
            )
        if self.connections and not self.oauth_client_id:
            found.append(
                "Connections are configured but no OAuth app: set c.DatabricksAuthHub."
                f"oauth_client_id to an app whose redirect URL is {self.callback_url}."
            )
        for name, values in self.connections.items():
            if not isinstance(values, dict) or not values.get("host"):
                found.append(f"Connection {name!r} needs a dict with at least a 'host'.")
                continue
            for field in INLINE_SECRET_FIELDS:
                if field in values:
                    found.append(
                        f"Connection {name!r} has an inline {field!r}: remove it; user sign-ins "
                        "need none, and group service principals read theirs from "
                        "client_secret_env or client_secret_file."
                    )
        for name in self.connections:
            if any(mark in name for mark in "@/#"):
                found.append(
                    f"Connection name {name!r} contains '@', '/' or '#': use letters, digits, "
                    "'-', '_' or '.' ('@' names a group's service principal: <connection>@<group>)."
                )
        for group, entries in self.group_service_principals.items():
            found.extend(self._sp_problems(group, entries))
        return found

    def _sp_problems(self, group: str, entries: Any) -> list[str]:
        if not isinstance(entries, list):
            return [f"group_service_principals[{group!r}] must be a list of dicts."]
        found = []
        for i, sp in enumerate(entries):
            where = f"group_service_principals[{group!r}][{i}]"
            if not isinstance(sp, dict):
                found.append(f"{where} must be a dict.")
                continue
            unknown = set(sp) - _SP_FIELDS
            if "client_secret" in unknown:
                found.append(
                    f"{where} has an inline client_secret: move it to an environment variable or "
                    "a file of the service and name it in client_secret_env / client_secret_file."
                )
                unknown.discard("client_secret")
            if unknown:
                found.append(
                    f"{where} has unknown fields {sorted(unknown)}; known: {sorted(_SP_FIELDS)}."
                )
            if sp.get("connection") not in self.connections:
                found.append(
                    f"{where} names connection {sp.get('connection')!r}, which is not "
                    "in c.DatabricksAuthHub.connections."
                )
            if not sp.get("client_id"):
                found.append(f"{where} needs a client_id.")
            sources = [k for k in ("client_secret_env", "client_secret_file") if sp.get(k)]
            if len(sources) != 1:
                found.append(f"{where} needs exactly one of client_secret_env, client_secret_file.")
            elif sources[0] == "client_secret_env" and not os.environ.get(sp["client_secret_env"]):
                found.append(
                    f"{where}: the environment variable {sp['client_secret_env']} "
                    "is not set in the service's environment."
                )
            elif sources[0] == "client_secret_file" and not os.access(
                sp["client_secret_file"], os.R_OK
            ):
                found.append(f"{where}: the file {sp['client_secret_file']} is not readable.")
            if sp.get("expires") is not None and not _DATE.match(str(sp["expires"])):
                found.append(f"{where}: expires must be a date, YYYY-MM-DD.")
        connections = [sp.get("connection") for sp in entries if isinstance(sp, dict)]
        for name in sorted({c for c in connections if connections.count(c) > 1}, key=str):
            found.append(
                f"group_service_principals[{group!r}] has several principals for connection "
                f"{name!r}: a group has at most one per connection ({name}@{group})."
            )
        return found

    # -- running --
    @catch_config_error
    def initialize(self, argv: list[str] | None = None) -> None:
        self.parse_command_line(argv)
        if self.generate_config:
            return
        path = Path(self.config_file)
        if path.exists():
            self.load_config_file(path.name, path=str(path.parent.absolute()))
            self.parse_command_line(argv)  # the command line wins over the file
        elif self.config_file != DEFAULT_CONFIG_FILE:
            raise ConfigError(
                f"Configuration file {self.config_file} not found.",
                hint="Check the path, or write one with --generate-config.",
            )

    def write_config(self) -> Path:
        path = Path(self.config_file)
        if path.exists():
            raise ConfigError(
                f"{path} already exists; it was left untouched.",
                hint="Move it aside to write a fresh one.",
            )
        path.write_text(self.generate_config_file())
        return path

    def open_store(self) -> Any:
        from .store import HubStore

        return HubStore(self.db_url, lock_timeout=self.lock_timeout)

    def start(self) -> None:
        if self.generate_config:
            print(f"Wrote {self.write_config()}")
            return
        problems = self.problems()
        for problem in problems:
            self.log.error(problem)
        if problems:
            self.exit(1)
        store = self.open_store()
        self.log.info("Store %s ready; OAuth callback URL: %s", store.safe_url, self.callback_url)
        store.close()
        if self.check:
            print(
                f"Configuration OK. Register this redirect URL with the OAuth app: "
                f"{self.callback_url}"
            )
            return
        asyncio.run(self.serve())

    def build_service(self, store: Any) -> Any:
        """The application: `HubTokenService` with this configuration's connections and app."""
        from ..core.secret import Secret
        from ..core.service import OAuthApp, ServiceSettings
        from .service import HubTokenService

        app_secret = os.environ.get("JUPYTER_DBX_AUTH_OAUTH_CLIENT_SECRET")
        return HubTokenService(
            store,
            connections=self.connections,
            app=OAuthApp(
                client_id=self.oauth_client_id or None,
                client_secret=Secret(app_secret) if app_secret else None,
                redirect_url=self.callback_url,
            ),
            settings=ServiceSettings(
                refresh_margin=self.refresh_margin,
                secret_expiry_warning_days=self.secret_expiry_warning_days,
                login_ttl=self.login_ttl,
                max_pending_per_user=self.max_pending_logins,
                public_url=self.public_url,
            ),
            user_idle=self.user_idle_timeout,
        )

    async def serve(self) -> None:
        """Serve the HTTP API until SIGTERM / SIGINT (the hub stops its services with SIGTERM)."""
        from .handlers import make_app

        store = self.open_store()
        service = self.build_service(store)
        await service.load_group_service_principals(self.group_service_principals)
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or f"/services/{self.service_name}/"
        # The service's own cookie (hub OAuth) is signed with a secret derived from the store key:
        # browsers stay signed in to the service across restarts and replicas.
        web_app = make_app(
            service,
            prefix=prefix,
            callback_url=self.callback_url,
            cookie_secret=store.derived_secret("jupyter-dbx-hub cookie secret"),
        )
        bind = urlparse(self.bind_url)
        server = web_app.listen(bind.port or 80, bind.hostname or "127.0.0.1")
        self.log.info(
            "Serving %s on %s; OAuth callback URL: %s; group service principals: %s",
            prefix,
            self.bind_url,
            self.callback_url,
            {group: sorted(sps) for group, sps in service.group_sps.items()} or "none",
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.stop()  # no new connections; requests being answered may finish
        inflight = web_app.settings["dbx_inflight"]
        if inflight.count:
            self.log.info("Stopping: waiting for %d request(s) to finish", inflight.count)
            try:
                await asyncio.wait_for(inflight.idle.wait(), self.shutdown_timeout)
            except TimeoutError:
                self.log.warning("Stopping with %d request(s) unfinished", inflight.count)
        await service.aclose()
        store.close()


def main(argv: list[str] | None = None) -> None:
    app = DatabricksAuthHub()
    try:
        app.initialize(argv)
        app.start()
    except DbxAuthError as exc:
        print(f"jupyter-dbx-hub: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
