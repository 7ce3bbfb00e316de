"""A pasted address, matched to its sign-in: which redirect URI it must answer, and the refusal
when the person declined.

With the public `databricks-cli` app a sign-in whose browser is not on this machine ends on
`http://localhost:8020/?code=…&state=…`, a page that does not open; the person pastes that
address. The state it carries finds the sign-in (only to learn the redirect URI that sign-in sent:
nothing is decided on it), `parse_pasted_address` checks the address answers exactly that URI,
and then `AuthService.complete_login` applies the callback's own checks (single use, same user,
not expired, PKCE).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..errors import BadRequest
from ..oauth.authorization_response import (
    MAX_PASTED_LENGTH,
    AuthorizationResponse,
    parse_pasted_address,
)
from .pending import PendingLogins
from .redirects import PUBLIC_APP_REDIRECT


def _loose_state(text: object) -> str | None:
    if not isinstance(text, str) or len(text) > MAX_PASTED_LENGTH:
        return None
    values = parse_qs(urlsplit(text.strip()).query).get("state", [])
    return values[0] if len(values) == 1 else None


def read_pasted(
    pending: PendingLogins[Any], connection: str, text: object
) -> AuthorizationResponse:
    """The authorization response in `text`, for a sign-in to `connection`.

    Raises `PastedAddressRejected` (not an answer to the redirect URI the sign-in sent) or
    `BadRequest` (a sign-in to another connection). An unknown state is left to `complete_login`,
    which refuses it as the callback would."""
    state = _loose_state(text)
    entry = pending.peek(state) if state else None
    redirect_uri = entry.pending.redirect_uri if entry else PUBLIC_APP_REDIRECT
    response = parse_pasted_address(text, redirect_uri)
    if entry is not None and entry.connection != connection:
        raise BadRequest(
            f"The pasted address finishes a sign-in to connection {entry.connection}, "
            f"not {connection}.",
            hint=f"Paste it where the sign-in to {entry.connection} was started.",
        )
    return response


def declined(response: AuthorizationResponse) -> BadRequest:
    """The refusal to show for a pasted `?error=` address (the caller burns its state)."""
    described = (response.error_description or "")[:300]
    return BadRequest(
        f"Databricks refused the sign-in: {response.error}"
        + (f" ({described})" if described else ""),
        hint="You declined access; start the sign-in again to grant it."
        if response.error == "access_denied"
        else "Start the sign-in again; if it keeps failing, check the OAuth app.",
    )
