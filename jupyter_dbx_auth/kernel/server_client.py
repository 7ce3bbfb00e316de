"""A small sync client for the Jupyter server's kernel API (`{base_url}dbx-auth/api/...`).

Kernels started by a Jupyter server with the extension inherit two environment variables: the
server's loopback URL and a per-server kernel key (`Authorization: DbxKernelKey <key>`). Sync
(`httpx.Client`) because the databricks-sdk and databricks-sql-connector call header factories
synchronously, from whatever thread makes the request. The token endpoint, which a kernel waits
on, has a lean kept-alive connection of its own (`keepalive.py`).

Errors come back as the server wrote them (`{"message", "hint", "error"}`) and are raised as the
core's exception types, so callers handle one hierarchy whichever side made the token.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Mapping
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from ..core import errors
from ..core.secret import Secret
from ..core.wire import ENV_KEY, ENV_SOCKET, ENV_URL, kernel_key_header
from .keepalive import KeepAliveGet
from .tokens import KernelToken

_ERRORS: dict[str, type[errors.DbxAuthError]] = {
    "LoginRequired": errors.LoginRequired,
    "CredentialsMissing": errors.CredentialsMissing,
    "ClientSecretRejected": errors.ClientSecretRejected,
    "TransientOAuthError": errors.TransientOAuthError,
    "ConfigError": errors.ConfigError,
    "DiscoveryError": errors.DiscoveryError,
    "OAuthError": errors.OAuthError,
    "TooManyRequests": errors.TooManyRequests,
    "TooManyLogins": errors.TooManyRequests,
    "NotFound": errors.NotFound,
    "BadRequest": errors.BadRequest,
    "StateRejected": errors.BadRequest,
}


class ServerAPIError(errors.DbxAuthError):
    """The Jupyter server answered with an error that has no more specific type."""

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class ServerClient:
    """The kernel key and the server URL, and one method per kernel API endpoint."""

    def __init__(
        self,
        url: str,
        key: Secret,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        token_socket: str | None = None,
    ) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self._api = self.url + "dbx-auth/api/"
        headers = {"Authorization": kernel_key_header(key.reveal())}
        self._http = httpx.Client(
            headers=headers,
            # Never keep a cookie: the server refuses kernel-key requests that carry Jupyter
            # credentials, and a token-less server sets an anonymous-user cookie on every reply.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            timeout=timeout,
            trust_env=False,  # loopback: a proxy from the environment must not see the key
            transport=transport,
        )
        # The token endpoint is the hot path: a lean keep-alive connection of its own, to the
        # server's private unix socket when it offers one, else to the HTTP route.
        self._token_get = KeepAliveGet(self._api, headers, timeout, unix_socket=token_socket)
        self._token_path = "/token" if token_socket else urlsplit(self._api + "token").path

    def __repr__(self) -> str:
        return f"<ServerClient {self.url!r}>"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerClient | None:
        """The client for the server that started this kernel, or None (no server)."""
        env = os.environ if env is None else env
        url, key = env.get(ENV_URL), env.get(ENV_KEY)
        if not url or not key:
            return None
        return cls(url, Secret(key), token_socket=env.get(ENV_SOCKET) or None)

    def close(self) -> None:
        self._http.close()
        self._token_get.close()

    # -- endpoints --------------------------------------------------------------------------

    def token(
        self, connection: str, *, client_id: str | None = None, rejected: Secret | None = None
    ) -> KernelToken:
        """A token for `connection`; `rejected` names one Databricks refused, to get a new one.

        Only a fingerprint of the refused token is sent: the server refreshes once however many
        kernels report the same token.
        """
        params = {"connection": connection}
        if client_id:
            params["client_id"] = client_id
        if rejected is not None:
            from ..core.oauth.tokens import fingerprint

            params["refresh"] = "1"
            params["rejected"] = fingerprint(rejected)
        token = KernelToken.from_reply(self._fast_get(params))
        if token is None:
            raise ServerAPIError("The Jupyter server returned no access token.", status=502)
        return token

    def connections(self) -> dict[str, Any]:
        """`{"connections": [...], "problems": [...], "store": {...}}` (no token, ever)."""
        return self._request("GET", "connections")

    def start_login(self, connection: str) -> str:
        """The same-origin path of the page that starts the sign-in for a browser."""
        body = self._request("POST", f"connections/{_quote(connection)}/login", json={})
        return str(body.get("login_url") or "")

    def logout(self, connection: str) -> dict[str, Any]:
        return self._request("POST", f"connections/{_quote(connection)}/logout", json={})

    def service_principals(self, connection: str | None = None) -> list[dict[str, Any]]:
        params = {"connection": connection} if connection else None
        body = self._request("GET", "service-principals", params=params)
        return list(body.get("service_principals") or [])

    def add_service_principal(
        self,
        connection: str,
        client_id: str,
        client_secret: Secret,
        *,
        expires_at: float | str | None = None,
        label: str = "",
    ) -> dict[str, Any]:
        return self._request(
            "POST",
            "service-principals",
            json={
                "connection": connection,
                "client_id": client_id,
                "client_secret": client_secret.reveal(),  # to the server, the secrets' holder
                "expires_at": expires_at,
                "label": label,
            },
        )

    def events(self) -> Any:
        """Yield each server-sent event's JSON data (`snapshot`, then `status` per change)."""
        import json

        with self._http.stream("GET", self._api + "events", timeout=None) as response:
            if response.status_code != 200:
                raise _error(response.status_code, {})
            for line in response.iter_lines():
                if line.startswith("data:"):
                    try:
                        yield json.loads(line[5:].strip())
                    except ValueError:
                        continue

    # -- plumbing ---------------------------------------------------------------------------

    def _fast_get(self, params: Mapping[str, str]) -> dict[str, Any]:
        try:
            status, raw = self._token_get.get(f"{self._token_path}?{urlencode(params)}")
        except (http.client.HTTPException, OSError) as exc:
            raise _unreachable(self.url, exc) from None
        return _checked(status, raw)

    def _request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, self._api + path, **kw)
        except httpx.HTTPError as exc:
            raise _unreachable(self.url, exc) from None
        return _checked(response.status_code, response.content)


def _unreachable(url: str, exc: Exception) -> errors.DbxAuthError:
    return errors.DbxAuthError(
        f"Cannot reach the Jupyter server at {url} ({type(exc).__name__}).",
        hint="Check that Jupyter is still running; restart the kernel if the server was restarted.",
    )


def _checked(status: int, raw: bytes) -> dict[str, Any]:
    """The JSON object of a reply, or the server's error raised as a core exception."""
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if status >= 400:
        raise _error(status, body)
    return body


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def _error(status: int, body: Mapping[str, Any]) -> errors.DbxAuthError:
    # The server writes messages from names and IdP error codes only; we pass on just those two
    # fields, never the raw body.
    message = str(body.get("message") or f"The Jupyter server answered HTTP {status}.")
    hint = str(body.get("hint") or "") or None
    cls = _ERRORS.get(str(body.get("error") or ""))
    if cls is not None:
        return cls(message, hint=hint)
    return ServerAPIError(message, status=status, hint=hint)
