"""The `jupyter_dbx_auth` server extension application: configuration and wiring.

Every option is a trait (`c.DatabricksAuth.<name>` in `jupyter_server_config.py`, or
`--DatabricksAuth.<name>=...`); `jupyter server --help-all` documents them.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import IOLoop
from traitlets import Bool, Dict, Enum, Float, Int, Unicode

from .._version import __version__
from ..core.errors import DbxAuthError
from ..core.service import LOGIN_TTL
from .hardening import make_non_dumpable, read_secret_file
from .hub_settings import HubModeSettings
from .kernel_key import KernelKey, kernel_server_url

#: Environment variables holding secrets that only the server may hold (DESIGN.md: no refresh
#: token, client secret or store key ever reaches a kernel).
SERVER_ONLY_ENV = (
    "JUPYTER_DBX_AUTH_CRYPT_KEY",
    "JUPYTER_DBX_AUTH_OAUTH_CLIENT_SECRET",
    "DATABRICKS_CLIENT_SECRET",
    "DATABRICKS_TOKEN",
    "DATABRICKS_PASSWORD",
    # A workload identity token (read by the server's own connections): a bearer credential.
    "DATABRICKS_OIDC_TOKEN",
)

#: `core.service.ServiceSettings` field -> the trait that sets it.
SERVICE_SETTINGS = {
    "refresh_margin": "refresh_margin",
    "secret_expiry_warning_days": "secret_expiry_warning_days",
    "login_ttl": "login_ttl",
    "max_pending_per_user": "max_pending_logins",
    "max_pending_per_client": "max_pending_logins_per_client",
    "max_pending_total": "max_pending_logins_total",
    "public_url": "public_url",
    "forced_refresh_interval": "forced_refresh_interval",
    "hub_poll_interval": "hub_poll_interval",
}

#: Connection fields that hold a secret when written inline in Jupyter config.
INLINE_SECRET_FIELDS = ("client_secret", "token", "password")


class DatabricksAuth(ExtensionApp, HubModeSettings):
    """Databricks OAuth for Jupyter: runs the flows and holds every long-lived secret."""

    name = "jupyter_dbx_auth"
    version = __version__
    description = __doc__
    load_other_extensions = True

    connections = Dict(
        {},
        help="""Connections by name: {name: {host, auth_type or method, client_id,
        client_secret, account_id, scopes, profile, ...}} with databricks-sdk attribute names.
        `.databrickscfg` profiles are added when `include_profiles` is true.""",
    ).tag(config=True)
    include_profiles = Bool(
        True, help="Offer every ~/.databrickscfg profile (and DATABRICKS_HOST) as a connection."
    ).tag(config=True)
    oauth_client_id = Unicode(
        None,
        allow_none=True,
        help="""Client id of a custom Databricks OAuth app for user sign-in (U2M). Unset: the
        public `databricks-cli` app, whose only redirect is http://localhost:8020: this server
        listens there while a sign-in is pending when the browser is on this machine, and
        otherwise the person pastes the address the browser ends on. See docs/oauth-app.md.""",
    ).tag(config=True)
    oauth_client_secret = Unicode(
        None,
        allow_none=True,
        help="Secret of the custom OAuth app, if it is confidential. Prefer "
        "`oauth_client_secret_file` (or the environment variable "
        "JUPYTER_DBX_AUTH_OAUTH_CLIENT_SECRET) over a config file.",
    ).tag(config=True)
    oauth_client_secret_file = Unicode(
        None,
        allow_none=True,
        help="""File holding the custom OAuth app's secret (mode 0600; a warning otherwise).
        Preferred over `oauth_client_secret` and JUPYTER_DBX_AUTH_OAUTH_CLIENT_SECRET: a secret
        in the environment stays readable in /proc/<pid>/environ for the process's life.""",
    ).tag(config=True)
    public_url = Unicode(
        None,
        allow_none=True,
        help="""The address browsers use to reach this server, scheme://host[:port] (the
        server's base_url is added), e.g. https://jupyter.example.com. Sign-in callback URLs are
        built from it; unset, only a loopback Host header (localhost, 127.0.0.1, ::1) is used, and
        a sign-in started through any other name is refused, because the Host header is
        client-controlled.""",
    ).tag(config=True)
    redirect_url = Unicode(
        None,
        allow_none=True,
        help="""Fixed OAuth redirect (callback) URL registered with the OAuth app. Set by the
        JupyterHub relay service; unset: `{base_url}dbx-auth/callback` on the host the browser
        used.""",
    ).tag(config=True)
    store_backend = Enum(
        ["auto", "keyring", "file", "memory"],
        "auto",
        help="Secret store: the OS keyring, an encrypted file, or memory (tests). 'auto' uses "
        "the keyring when a real one exists, else the encrypted file.",
    ).tag(config=True)
    store_path = Unicode(
        None,
        allow_none=True,
        help="Directory of the encrypted file store (default: user data dir).",
    ).tag(config=True)
    store_key = Unicode(
        None,
        allow_none=True,
        help="Key(s) of the encrypted file store, ';'-separated, newest first. Prefer "
        "`store_key_file` (or the JUPYTER_DBX_AUTH_CRYPT_KEY environment variable).",
    ).tag(config=True)
    store_key_file = Unicode(
        None,
        allow_none=True,
        help="""File holding the encrypted file store's key(s), ';'-separated, newest first
        (mode 0600; a warning otherwise). Preferred over `store_key` and
        JUPYTER_DBX_AUTH_CRYPT_KEY; keep it outside the store directory and out of backups of
        it, or a stolen backup carries its own key.""",
    ).tag(config=True)
    non_dumpable = Bool(
        True,
        help="""On Linux, make the server process non-dumpable (prctl PR_SET_DUMPABLE 0) when
        the extension loads: other processes of the same user (kernels, terminals) can then not
        read its /proc/<pid>/environ or memory, nor attach a debugger; no core dumps. Kernels
        stay ordinary processes. Turn off only to debug the server itself. See
        docs/security.md.""",
    ).tag(config=True)
    refresh_margin = Float(
        300.0, help="Seconds before expiry at which access tokens are refreshed."
    ).tag(config=True)
    audit_log_path = Unicode(
        None,
        allow_none=True,
        help="Audit log file (JSON lines, size-rotated, 0600). Unset: `audit.log` in the user "
        "log directory (platformdirs); an empty string turns the audit log off.",
    ).tag(config=True)
    secret_expiry_warning_days = Float(
        30.0, help="Warn this many days before a stored service principal secret expires."
    ).tag(config=True)
    login_ttl = Float(
        LOGIN_TTL, help="Seconds a started sign-in may take before its state is refused."
    ).tag(config=True)
    max_pending_logins = Int(
        8, help="Sign-ins one Jupyter user may have in progress at once (oldest dropped)."
    ).tag(config=True)
    max_pending_logins_per_client = Int(
        32,
        help="Sign-ins one client address may have in progress at once; more are refused (429).",
    ).tag(config=True)
    max_pending_logins_total = Int(
        1000, help="Sign-ins in progress on this server at once; more are refused (429)."
    ).tag(config=True)
    forced_refresh_interval = Float(
        30.0,
        help="Shortest time between two token refreshes forced by kernels reporting that "
        "Databricks refused a token (HTTP 401), per connection.",
    ).tag(config=True)
    token_socket = Bool(
        True,
        help="Also serve the kernel token API on a private unix socket (0600 in a 0700 "
        "directory; kernels find it in JUPYTER_DBX_AUTH_TOKEN_SOCKET): several times faster "
        "than the HTTP route, and closed to other local users. Ignored where unix sockets are "
        "unavailable.",
    ).tag(config=True)
    metadata_service = Bool(
        True,
        help="""Answer databricks-sdk's `metadata-service` auth type on a loopback port, so
        `%dbx_connect NAME --env` (and `default_connection`) sign in plain `WorkspaceClient()`,
        subprocesses, terminals and Databricks Connect. The URL carries a random secret and is
        never logged.""",
    ).tag(config=True)
    default_connection = Unicode(
        None,
        allow_none=True,
        help="""A connection every kernel and terminal this server starts is signed in to:
        DATABRICKS_HOST, DATABRICKS_AUTH_TYPE=metadata-service and
        DATABRICKS_METADATA_SERVICE_URL in their environment (needs `metadata_service`).""",
    ).tag(config=True)
    events_keepalive = Float(
        15.0, help="Seconds between keep-alive comments on the api/events stream."
    ).tag(config=True)

    def initialize_settings(self) -> None:
        from ..core.secret import Secret
        from ..core.service import AuthService, EventHub, OAuthApp, ServiceSettings
        from ..core.store.select import open_store

        self._harden_process()
        self._warn_about_inline_secrets()
        store_key = (
            read_secret_file(self.store_key_file, "store_key_file")
            if self.store_key_file
            else self.store_key
        )
        store = open_store(self.store_backend, self.store_path, store_key)
        self._http = httpx.AsyncClient(timeout=30.0)
        # A file first (finding 1 of issue 9: the environment stays in /proc/<pid>/environ).
        app_secret = (
            read_secret_file(self.oauth_client_secret_file, "oauth_client_secret_file")
            if self.oauth_client_secret_file
            else self.oauth_client_secret or os.environ.get("JUPYTER_DBX_AUTH_OAUTH_CLIENT_SECRET")
        )
        self.service = AuthService(
            store=store,
            http=self._http,
            explicit=self.connections,
            include_profiles=self.include_profiles,
            env=dict(os.environ),
            app=OAuthApp(
                client_id=self.oauth_client_id or None,
                client_secret=Secret(app_secret) if app_secret else None,
                redirect_url=self.redirect_url or None,
            ),
            settings=ServiceSettings(
                **{field: getattr(self, trait) for field, trait in SERVICE_SETTINGS.items()}
            ),
            events=EventHub(IOLoop.current().asyncio_loop),  # type: ignore[attr-defined]
            audit=self._open_audit(),
            hub=self.hub_client(self._http, os.environ, self.log),  # hub mode, or None
        )
        self.service.reload()
        from .handoff_adapter import SignInFinish

        self.sign_in_finish = SignInFinish(self.service)  # localhost:8020, only while needed
        self._keep_secrets_from_kernels()
        self.kernel_key = KernelKey()
        # Kernels started from now on inherit the key; the URL follows once the port is bound
        # (extensions load before the HTTP server binds it).
        self.kernel_key.export(os.environ, None)
        IOLoop.current().add_callback(self._publish_server_url)
        self.settings.update(
            dbx_auth_service=self.service,
            dbx_auth_kernel_key=self.kernel_key,
            dbx_auth_events_keepalive=self.events_keepalive,
            dbx_auth_metadata_service=self._start_metadata_service(),
            dbx_auth_finish=self.sign_in_finish,
        )

    def _start_metadata_service(self) -> Any:
        from . import metadata_service as ms

        self._default_env: dict[str, str] = {}
        if not self.metadata_service:
            if self.default_connection:
                self.log.warning(
                    "jupyter-dbx-auth: default_connection is ignored: metadata_service is off."
                )
            return None
        listener = ms.MetadataService(self.service)
        listener.start()
        self._metadata = listener
        if self.default_connection:
            try:
                self._default_env = ms.export_default(listener, self.default_connection, os.environ)
            except DbxAuthError as exc:
                self.log.warning("jupyter-dbx-auth: default_connection not exported: %s", exc)
        return listener

    def _harden_process(self) -> None:
        """First thing at load: close /proc/<pid>/environ (which still shows secrets removed from
        os.environ) and the process's memory to same-user processes. docs/security.md."""
        if self.non_dumpable and make_non_dumpable():
            self.log.debug("jupyter-dbx-auth: the server process is now non-dumpable.")

    def _warn_about_inline_secrets(self) -> None:
        """Secrets written into Jupyter config end up wherever the config goes: traitlets logs the
        whole config at --debug before any extension loads, and config files are often shared.
        Say so, with the safer place for each; the values are never named in the warning."""
        inline = [
            f"c.DatabricksAuth.connections[{name!r}][{field!r}]"
            for name, values in (self.connections or {}).items()
            if isinstance(values, dict)
            for field in INLINE_SECRET_FIELDS
            if values.get(field)
        ]
        if self.oauth_client_secret:
            inline.append("c.DatabricksAuth.oauth_client_secret")
        if self.store_key:
            inline.append("c.DatabricksAuth.store_key")
        if inline:
            self.log.warning(
                "Secrets are set in Jupyter config (%s); Jupyter logs its config at --debug and "
                "config files are often shared. Prefer a service principal saved in the "
                "Databricks sidebar (kept encrypted), a ~/.databrickscfg profile, or the "
                "settings c.DatabricksAuth.oauth_client_secret_file and "
                "c.DatabricksAuth.store_key_file (a 0600 file each).",
                ", ".join(inline),
            )

    def _keep_secrets_from_kernels(self) -> None:
        """Kernels and terminals inherit this process's environment. Secrets the server has read
        from it (store key, OAuth app secret, Databricks credentials) are removed, so a notebook
        running `%env` or `os.environ` shows none of them; the server keeps its own copy."""
        removed = [name for name in SERVER_ONLY_ENV if os.environ.pop(name, None) is not None]
        if removed:
            self.log.info(
                "jupyter-dbx-auth: kept %s from kernels' environment (the server holds them).",
                ", ".join(removed),
            )

    def _open_audit(self) -> Any:
        if self.audit_log_path == "":
            return None
        from ..core.audit import AuditLog

        return AuditLog(self.audit_log_path or None)

    async def _publish_server_url(self) -> None:
        self.service.events.bind(asyncio.get_running_loop())
        url = kernel_server_url(self.serverapp)
        if url is None:
            self.log.warning(
                "jupyter-dbx-auth: no TCP port to give kernels (UNIX socket?); the kernel API "
                "is unavailable to kernels."
            )
        self.kernel_key.export(os.environ, url)
        await self.service.ready()  # service principals' public fields, read off the loop
        # Then the fast path: kernels started before it is up simply use the HTTP route.
        self.kernel_key.export(os.environ, url, await self._start_token_socket())

    async def _start_token_socket(self) -> str | None:
        from . import token_socket

        if not self.token_socket or not token_socket.available():
            return None
        listener = token_socket.TokenSocket(
            {"dbx_auth_service": self.service, "dbx_auth_kernel_key": self.kernel_key}
        )
        try:
            await listener.start()
        except OSError as exc:
            self.log.warning(
                "jupyter-dbx-auth: kernels use the HTTP token route (no unix socket: %s)", exc
            )
            await listener.close()
            return None
        self._token_socket = listener
        return listener.path

    def initialize_handlers(self) -> None:
        from .handlers import build_handlers

        self.handlers.extend(build_handlers())

    async def stop_extension(self) -> None:
        finish = getattr(self, "sign_in_finish", None)
        if finish is not None:
            await finish.aclose()
        service = getattr(self, "service", None)
        if service is not None:
            await service.aclose()
        http = getattr(self, "_http", None)
        if http is not None:
            await http.aclose()
        key = getattr(self, "kernel_key", None)
        if key is not None:
            key.withdraw(os.environ)
        listener = getattr(self, "_token_socket", None)
        if listener is not None:
            await listener.close()
        for name, value in getattr(self, "_default_env", {}).items():
            if os.environ.get(name) == value:
                del os.environ[name]
        metadata = getattr(self, "_metadata", None)
        if metadata is not None:
            await metadata.close()
