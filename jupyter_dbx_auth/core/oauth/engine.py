"""`OAuthEngine`: the one place that talks OAuth to Databricks, for every connection method.

Async, over an injectable `httpx.AsyncClient` (the server extension shares its client; tests run
it against the emulator over loopback). Protocol encoding is Authlib's (see `grants.py`); we do
not use `AsyncOAuth2Client` itself because it *is* an httpx client (so it cannot share one) and
its built-in auto-refresh would bypass the broker's single-flight and cross-process lock.

The engine is stateless apart from its HTTP client: it never stores tokens. The broker decides
when to call it and where results go.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import httpx

from ..connections import Connection, machine_scopes
from ..errors import DiscoveryError, OAuthError
from ..secret import Secret
from . import grants
from .authorize import PendingLogin, start_authorization
from .retry import RetryPolicy, raise_for_oauth_error, send_with_retry
from .tokens import TokenSet

log = logging.getLogger(__name__)

#: Databricks' public OAuth client registered in every account; PKCE, no secret.
DEFAULT_CLIENT_ID = "databricks-cli"


class Endpoints(Protocol):
    """What the engine needs from discovery (`core.discovery.OidcEndpoints` fits)."""

    @property
    def token_endpoint(self) -> str: ...

    @property
    def authorization_endpoint(self) -> str | None: ...

    @property
    def revocation_endpoint(self) -> str | None: ...


Discover = Callable[[Connection], Awaitable[Endpoints]]


def _m2m_scopes(connection: Connection) -> tuple[str, ...]:
    return machine_scopes(connection.scopes)


class OAuthEngine:
    def __init__(
        self,
        discover: Discover | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        default_client_id: str = DEFAULT_CLIENT_ID,
        timeout: float = 30.0,
    ) -> None:
        self._discover = discover
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=timeout)
        self.retry = retry or RetryPolicy()
        self._clock = clock
        self.default_client_id = default_client_id

    def __repr__(self) -> str:
        return f"<OAuthEngine retry={self.retry!r}>"

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> OAuthEngine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- discovery --------------------------------------------------------------------------

    async def endpoints(self, connection: Connection) -> Endpoints:
        if self._discover is not None:
            return await self._discover(connection)
        # Imported late: discovery has its own process-wide cache; tests may inject endpoints.
        from ..discovery import discover

        return await discover(connection, client=self._http)

    def client_id_for(self, connection: Connection) -> str:
        return connection.client_id or self.default_client_id

    # -- U2M -------------------------------------------------------------------------------

    async def begin_login(
        self, connection: Connection, redirect_uri: str
    ) -> tuple[str, PendingLogin]:
        ep = await self.endpoints(connection)
        if not ep.authorization_endpoint:
            raise DiscoveryError(
                f"The OIDC document of {connection.host} advertises no authorization endpoint."
            )
        return start_authorization(
            authorization_endpoint=ep.authorization_endpoint,
            connection=connection.name,
            client_id=self.client_id_for(connection),
            redirect_uri=redirect_uri,
            scopes=connection.scopes,
            now=self._clock(),
        )

    async def exchange_code(
        self, connection: Connection, pending: PendingLogin, code: str
    ) -> TokenSet:
        request = grants.authorization_code(pending, code, client_secret=connection.client_secret)
        return await self._token(connection, request)

    async def refresh(self, connection: Connection, refresh_token: Secret) -> TokenSet:
        """A new token set; when the IdP rotates, the result carries the new refresh token.
        When it does not (no refresh_token in the answer), the old one stays valid and is kept."""
        request = grants.refresh_token(
            refresh_token,
            client_id=self.client_id_for(connection),
            client_secret=connection.client_secret,
        )
        tokens = await self._token(connection, request)
        if tokens.refresh_token is None:
            tokens = TokenSet(
                access_token=tokens.access_token,
                refresh_token=refresh_token,
                expires_at=tokens.expires_at,
                scope=tokens.scope,
                token_type=tokens.token_type,
                issued_at=tokens.issued_at,
            )
        return tokens

    # -- M2M and workload identity ---------------------------------------------------------

    async def client_credentials(
        self, connection: Connection, client_id: str, client_secret: Secret
    ) -> TokenSet:
        request = grants.client_credentials(
            client_id=client_id, client_secret=client_secret, scopes=_m2m_scopes(connection)
        )
        return await self._token(connection, request)

    async def token_exchange(self, connection: Connection) -> TokenSet:
        subject = grants.read_subject_token(connection.oidc_token_env, connection.oidc_token_file)
        request = grants.token_exchange(
            subject,
            client_id=connection.client_id,
            scopes=_m2m_scopes(connection),
            audience=None,  # the audience is a property of the subject token, not of the request
        )
        return await self._token(connection, request)

    # -- revocation (RFC 7009) -------------------------------------------------------------

    async def revoke(
        self, connection: Connection, token: Secret, *, hint: str = "refresh_token"
    ) -> bool:
        """Best effort: True when the IdP confirmed; False when it has no revocation endpoint or
        the request failed (logged; logout goes on regardless: forgetting is what matters)."""
        ep = await self.endpoints(connection)
        if not ep.revocation_endpoint:
            return False
        request = grants.revocation(
            token,
            client_id=self.client_id_for(connection),
            client_secret=connection.client_secret,
            hint=hint,
        )
        try:
            response = await send_with_retry(
                lambda: self._http.post(
                    ep.revocation_endpoint or "", content=request.body, headers=request.headers
                ),
                self.retry,
                what=f"revocation request to {connection.host}",
            )
        except OAuthError as exc:
            log.warning("Could not revoke the token of %s: %s", connection.name, exc.message)
            return False
        if not response.is_success:
            log.warning("Revocation for %s returned HTTP %d", connection.name, response.status_code)
        return response.is_success

    # -- the token endpoint ----------------------------------------------------------------

    async def _token(self, connection: Connection, request: grants.TokenRequest) -> TokenSet:
        ep = await self.endpoints(connection)
        what = f"{_grant_label(request.grant)} request to {connection.host}"
        response = await send_with_retry(
            lambda: self._http.post(
                ep.token_endpoint, content=request.body, headers=request.headers
            ),
            self.retry,
            what=what,
        )
        raise_for_oauth_error(
            response,
            what=what,
            sent_secrets=request.sent_secrets,
            client_has_secret=request.client_has_secret,
        )
        try:
            body = response.json()
            return TokenSet.from_response(body, now=self._clock())
        except ValueError:
            raise OAuthError(
                f"{what} returned an unreadable token response (HTTP {response.status_code}).",
                hint="Check that the host is a Databricks workspace or account console.",
            ) from None


def _grant_label(grant: str) -> str:
    return "token exchange" if grant == grants.TOKEN_EXCHANGE else grant.replace("_", " ")
