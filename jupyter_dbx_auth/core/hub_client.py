"""A single-user server's client of the hub token service (`jupyter_dbx_auth.hub`), over HTTP.

In a hub-spawned server ("hub mode") the refresh tokens and service-principal secrets live in the
hub's service; this server asks it, with its own `JUPYTERHUB_API_TOKEN`, for what it may have:
the user's connections with their status (`GET api/status`), short-lived access tokens
(`GET api/token/<name>[?rejected=<fingerprint>]`) and sign-outs (`DELETE api/sign-ins/<name>`).
Sign-ins happen in the person's browser at the service (`login_path`); this server never sees a
code, a refresh token or a secret.

Every failure becomes a `DbxAuthError` a person can act on: the service's own refusals keep its
words (built from names, never a token), an unreachable or failing service is
`HubServiceUnavailable` (503), a refused server token is `HubServiceRefused` (502).
No tornado, no Jupyter: the server extension builds one from its settings and the environment.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from .errors import (
    BadRequest,
    DbxAuthError,
    LoginRequired,
    NotFound,
    OAuthError,
    TooManyRequests,
    TransientOAuthError,
)
from .oauth.tokens import TokenSet
from .secret import Secret

log = logging.getLogger(__name__)

#: The environment variable naming the hub token service (set in the single-user environment by
#: `docs/hub/jupyterhub_config.py`), and the one giving the address of its API, if not the hub's.
ENV_SERVICE = "JUPYTER_DBX_AUTH_HUB_SERVICE"
ENV_SERVICE_URL = "JUPYTER_DBX_AUTH_HUB_SERVICE_URL"
#: `Connection.source` of a connection the hub service holds.
HUB_SOURCE = "hub"
#: A group's service principal is listed as `<connection>@<group>` (the service's naming).
GROUP_MARK = "@"
_MAX_SHOWN = 300  # characters of the service's message passed on


@dataclasses.dataclass(frozen=True)
class HubEndpoint:
    """Where the service is and how this server proves who it is."""

    service: str  # the hub service's name, e.g. "dbx-auth"
    api_url: str  # where this server reaches the service: ends with services/<name>/
    browser_url: str  # the same service as the person's browser reaches it (a path or a URL)
    token: Secret = dataclasses.field(repr=False)  # this server's JUPYTERHUB_API_TOKEN

    @classmethod
    def from_env(
        cls, service: str | None, env: Mapping[str, str], api_url: str | None = None
    ) -> HubEndpoint | None:
        """From the hub's `JUPYTERHUB_*` environment; None when this is not a hub-spawned
        server with the service configured. Raises `BadRequest` when the service is named but
        cannot be reached from what is known."""
        token = env.get("JUPYTERHUB_API_TOKEN")
        if not service or not token:
            return None
        base = env.get("JUPYTERHUB_BASE_URL") or "/"
        base = base if base.endswith("/") else base + "/"
        path = f"{base}services/{quote(service, safe='')}/"
        url = api_url or env.get(ENV_SERVICE_URL) or ""
        if not url:
            # The proxy routes services/<name>/; the hub's public address reaches it.
            public = env.get("JUPYTERHUB_PUBLIC_HUB_URL") or ""
            if public.startswith(("http://", "https://")):
                origin = public.split("/", 3)
                url = f"{origin[0]}//{origin[2]}{path}"
        if not url:
            raise BadRequest(
                f"Hub mode: the address of the hub token service {service!r} is unknown.",
                hint=f"Set {ENV_SERVICE_URL} (or c.DatabricksAuth.hub_service_url) in the "
                "single-user environment, e.g. http://127.0.0.1:10101/services/dbx-auth/, or "
                "c.JupyterHub.public_url in the hub's config.",
            )
        return cls(
            service=service,
            api_url=url if url.endswith("/") else url + "/",
            browser_url=path,
            token=Secret(token),
        )

    def login_path(self, connection: str, next_url: str) -> str:
        """The service's sign-in page for the browser (same origin through the hub's proxy)."""
        return (
            f"{self.browser_url}login/{quote(connection, safe='')}?next={quote(next_url, safe='')}"
        )


class HubServiceUnavailable(TransientOAuthError):
    """The hub token service could not be reached or failed (HTTP 503)."""


class HubServiceRefused(OAuthError):
    """The hub refused this server's token (HTTP 502: the server's setup, not the request)."""


def _said(response: httpx.Response) -> tuple[str | None, str | None, str | None]:
    """The service's (error, message, hint), from its JSON error body, bounded."""
    try:
        body = response.json()
    except ValueError:
        return None, None, None
    if not isinstance(body, dict):
        return None, None, None

    def field(key: str) -> str | None:
        value = body.get(key)
        return value[:_MAX_SHOWN] if isinstance(value, str) and value else None

    return field("error"), field("message"), field("hint")


class HubServiceClient:
    def __init__(self, endpoint: HubEndpoint, http: httpx.AsyncClient, timeout: float = 20.0):
        self.endpoint = endpoint
        self.http = http
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"<HubServiceClient {self.endpoint.api_url}>"

    @property
    def name(self) -> str:
        return self.endpoint.service

    async def _call(self, method: str, path: str, **params: str) -> dict[str, Any]:
        url = self.endpoint.api_url + path
        try:
            response = await self.http.request(
                method,
                url,
                params=params or None,
                headers={"Authorization": f"token {self.endpoint.token.reveal()}"},
                timeout=self.timeout,
                follow_redirects=False,
            )
        except httpx.HTTPError as exc:
            raise HubServiceUnavailable(
                f"The hub token service {self.name!r} could not be reached ({type(exc).__name__}).",
                hint="It may be restarting: try again in a minute. If it lasts, ask the hub "
                "admin to check the service (the JupyterHub log).",
            ) from None
        if response.status_code == 200:
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                return body
            raise HubServiceUnavailable(
                f"The hub token service {self.name!r} answered something that is not its API.",
                hint=f"Check the service's address ({self.endpoint.api_url}).",
            )
        raise self._error(response)

    def _error(self, response: httpx.Response) -> DbxAuthError:
        status = response.status_code
        error, message, hint = _said(response)
        if status == 404 and message:
            return NotFound(
                message,
                hint=hint or "The hub's connections for you are listed in the Databricks sidebar.",
            )
        if status == 409:
            return LoginRequired(
                message or "Not signed in at the hub.",
                hint="Sign in from the Databricks sidebar: the sign-in happens at the hub.",
            )
        if status == 429:
            retry = response.headers.get("Retry-After", "")
            return TooManyRequests(
                message or "The hub token service is busy.",
                hint=hint or "Try again in a moment.",
                retry_after=float(retry) if retry.isdigit() else 0.0,
            )
        if status == 400 and message:
            return BadRequest(message, hint=hint or "Check the request; the hub refused it.")
        if status in (401, 403) or (status == 404 and not message) or 300 <= status < 400:
            return HubServiceRefused(
                f"The hub refused this server's request to the token service {self.name!r} "
                f"(HTTP {status}).",
                status=status,
                hint="The server's JUPYTERHUB_API_TOKEN needs the scope "
                f"access:services!service={self.name} (c.Spawner.server_token_scopes) and the "
                "service must run under that name: ask the hub admin, then restart your server.",
            )
        if status == 502 and message:  # Databricks failing, in the service's words
            return OAuthError(
                message, hint=hint or "Databricks may be unavailable; try again.", status=status
            )
        return HubServiceUnavailable(
            f"The hub token service {self.name!r} failed (HTTP {status})"
            + (f": {message}" if message and error else "."),
            hint=hint or "Try again in a minute; if it lasts, ask the hub admin.",
        )

    async def status(self) -> dict[str, Any]:
        """The caller's connections (`connections`, with `api/connections` entries' shape)."""
        body = await self._call("GET", "api/status")
        if not isinstance(body.get("connections"), list):
            raise HubServiceUnavailable(
                f"The hub token service {self.name!r} sent a status without connections.",
                hint="Check that the service and this server run the same jupyter-dbx-auth.",
            )
        return body

    async def token(self, connection: str, *, rejected: str | None = None) -> TokenSet:
        """An access token; `rejected`: fingerprint of a token Databricks refused."""
        params = {"rejected": rejected} if rejected else {}
        body = await self._call("GET", f"api/token/{quote(connection, safe='')}", **params)
        access, expires = body.get("access_token"), body.get("expires_at")
        if not isinstance(access, str) or not access:
            raise HubServiceUnavailable(
                f"The hub token service {self.name!r} sent no access token for {connection}.",
                hint="Try again; if it lasts, ask the hub admin.",
            )
        return TokenSet(
            access_token=Secret(access),
            expires_at=float(expires) if isinstance(expires, (int, float)) else None,
            token_type=str(body.get("token_type") or "Bearer"),
            issued_at=time.time(),
        )

    async def sign_out(self, connection: str) -> dict[str, Any]:
        return await self._call("DELETE", f"api/sign-ins/{quote(connection, safe='')}")
