"""The authorization request of the code flow (RFC 6749 §4.1.1 with PKCE S256).

`start_authorization` returns the URL to open in the browser and a `PendingLogin`: what the server
must keep (bound to the Jupyter user) until the callback arrives. The state is single-use and
expires (`PendingLogin.ttl`); the verifier is a `Secret` and never leaves the server.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field

from authlib.oauth2.rfc6749.parameters import prepare_grant_uri

from ..secret import Secret
from . import pkce

#: Seconds a sign-in may take before its state is refused; long enough to type a password and
#: pass MFA, short enough that a leaked callback URL is soon useless.
DEFAULT_LOGIN_TTL = 600.0


@dataclass(frozen=True, repr=False)
class PendingLogin:
    connection: str
    state: str
    verifier: Secret = field(compare=False)
    redirect_uri: str
    client_id: str
    created_at: float
    ttl: float = DEFAULT_LOGIN_TTL

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) - self.created_at > self.ttl

    def state_matches(self, state: str | None) -> bool:
        # Constant time: the state is a CSRF token.
        return state is not None and hmac.compare_digest(self.state.encode(), state.encode())

    def __repr__(self) -> str:
        # The state is shown shortened: enough to correlate log lines, not enough to forge a
        # callback; the verifier not at all.
        return (
            f"PendingLogin(connection={self.connection!r}, state={self.state[:6]!r}..., "
            f"redirect_uri={self.redirect_uri!r}, created_at={self.created_at!r})"
        )


def start_authorization(
    *,
    authorization_endpoint: str,
    connection: str,
    client_id: str,
    redirect_uri: str,
    scopes: tuple[str, ...] | list[str],
    now: float | None = None,
    ttl: float = DEFAULT_LOGIN_TTL,
) -> tuple[str, PendingLogin]:
    """Authorize URL (response_type=code, state, S256 challenge) and the login to remember."""
    state = secrets.token_urlsafe(32)
    verifier = pkce.new_verifier()
    url = prepare_grant_uri(
        authorization_endpoint,
        client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=list(scopes),
        state=state,
        code_challenge=pkce.challenge(verifier),
        code_challenge_method=pkce.METHOD,
    )
    pending = PendingLogin(
        connection=connection,
        state=state,
        verifier=verifier,
        redirect_uri=redirect_uri,
        client_id=client_id,
        created_at=time.time() if now is None else now,
        ttl=ttl,
    )
    return url, pending
