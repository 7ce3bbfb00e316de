"""The OAuth 2.0 authorization server, built on Authlib's server-side grants."""

from __future__ import annotations

from ..jwt_keys import SigningKeys
from ..state import EmulatorState
from .grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
    S256CodeChallenge,
)
from .server import EmulatorAuthorizationServer
from .token_exchange import TokenExchangeGrant


def build_server(
    state: EmulatorState, keys: SigningKeys, issuer: str
) -> EmulatorAuthorizationServer:
    """An authorization server for one issuer. Cheap: grants are classes, state is shared."""
    server = EmulatorAuthorizationServer(state, keys, issuer)
    server.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(TokenExchangeGrant)
    return server
