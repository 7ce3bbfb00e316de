"""The authorization request of the code flow (RFC 6749 §4.1.1 with PKCE S256).

`start_authorization` returns the URL to open in the browser and a `PendingLogin`: what the server
must keep (bound to the Jupyter user) until the callback arrives. How long it may wait, and that it
is used once, is the one login-state table's job (`core.service.pending`); the verifier is a
`Secret` and never leaves the server.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field

from authlib.oauth2.rfc6749.parameters import prepare_grant_uri

from ..secret import Secret
from . import pkce


@dataclass(frozen=True, repr=False)
class PendingLogin:
    connection: str
    state: str
    verifier: Secret = field(compare=False)
    redirect_uri: str
    client_id: str
    created_at: float

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
    )
    return url, pending
