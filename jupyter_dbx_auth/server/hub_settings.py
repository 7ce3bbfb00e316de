"""The server extension's hub-mode settings (`c.DatabricksAuth.hub_*`), apart from `app.py`.

A mixin of traits: `DatabricksAuth` inherits them, so they are configured, documented
(`--help-all`) and read like its others. Hub mode is on when `hub_service` names the hub token
service and the server was spawned by a hub (`JUPYTERHUB_API_TOKEN` present).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import httpx
from traitlets import Float, HasTraits, Unicode, default

from ..core.errors import DbxAuthError
from ..core.hub_client import ENV_SERVICE, ENV_SERVICE_URL, HubEndpoint, HubServiceClient


class HubModeSettings(HasTraits):
    hub_service = Unicode(
        None,
        allow_none=True,
        help=f"""Name of the JupyterHub token service (`jupyter-dbx-hub`, usually "dbx-auth").
        Set (default: the {ENV_SERVICE} environment variable, which the hub's
        `c.Spawner.environment` sets) in a hub-spawned server, this server lists the connections
        the service holds for this hub user beside its own, gets their access tokens from it
        with its JUPYTERHUB_API_TOKEN, and sends sign-ins to the service's page in the browser.
        It never holds their refresh tokens or secrets. See docs/hub/README.md.""",
    ).tag(config=True)
    hub_service_url = Unicode(
        None,
        allow_none=True,
        help=f"""Where this server reaches the hub token service's API, ending in
        services/<name>/, e.g. http://127.0.0.1:10101/services/dbx-auth/ (the service's own
        address) or the hub's proxy. Default: the {ENV_SERVICE_URL} environment variable, else
        the hub's public address (JUPYTERHUB_PUBLIC_HUB_URL, when the hub sets public_url).""",
    ).tag(config=True)
    hub_poll_interval = Float(
        3.0,
        help="Hub mode: seconds between two reads of the hub service's status while a sign-in "
        "at the hub is pending (for at most login_ttl).",
    ).tag(config=True)

    @default("hub_service")
    def _hub_service_from_env(self) -> str | None:
        return os.environ.get(ENV_SERVICE) or None

    def hub_client(
        self, http: httpx.AsyncClient, env: Mapping[str, str], log: logging.Logger
    ) -> HubServiceClient | None:
        """The hub service's client, or None outside hub mode (or when it cannot be set up:
        then a warning says why, and the server works with its own connections only)."""
        try:
            endpoint = HubEndpoint.from_env(self.hub_service, env, self.hub_service_url or None)
        except DbxAuthError as exc:
            log.warning("jupyter-dbx-auth: hub mode is off: %s %s", exc.message, exc.hint)
            return None
        if endpoint is None:
            if self.hub_service:
                log.info(
                    "jupyter-dbx-auth: hub_service is set but this server was not spawned by a "
                    "hub (no JUPYTERHUB_API_TOKEN): hub mode is off."
                )
            return None
        log.info(
            "jupyter-dbx-auth: hub mode: connections of the hub service %r at %s",
            endpoint.service,
            endpoint.api_url,
        )
        return HubServiceClient(endpoint, http)
