"""RFC 8693 token exchange for Databricks workload identity federation, in Authlib's grant style.

A workload presents a JWT from its own IdP (Kubernetes, GitHub Actions, ...). The token is trusted
only through a federation policy: the issuer must match, the signature must verify against the
policy's JWKS, the audience must be one the policy lists, and the subject must be the one the
policy names. With `client_id` the policies of that service principal apply and the token is
issued to it; without, account-wide policies map the subject claim to a user or principal.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    grants,
)
from authlib.oauth2.rfc6749.grants.base import TokenEndpointMixin

from ..jwt_keys import TokenInvalid, check_times, decode_rs256, keyset_from_jwks
from ..state import FederationPolicy, ServicePrincipal, User
from .models import SUPPORTED_SCOPES, TOKEN_EXCHANGE, ServicePrincipalClient
from .server import EmulatorAuthorizationServer

JWT_TOKEN_TYPES = {
    "urn:ietf:params:oauth:token-type:jwt",
    "urn:ietf:params:oauth:token-type:id_token",
}
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 - a URN
# Tolerated skew between the workload's IdP clock and ours, as real verifiers allow.
LEEWAY_SECONDS = 30


class FederatedUserClient(ClientMixin):
    """Stands in as the `client` of a token minted through an account-wide policy for a user."""

    def __init__(self, policy: FederationPolicy) -> None:
        self.policy = policy

    def get_client_id(self) -> str:
        return f"federation-policy:{self.policy.id}"


def unverified_claims(token: str) -> dict[str, Any]:
    """Read the claims only to pick candidate policies; nothing is trusted before verification."""
    try:
        payload = token.split(".")[1]
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(raw)
    except (IndexError, ValueError, UnicodeError) as exc:
        raise InvalidRequestError("The subject_token is not a JWT.") from exc
    if not isinstance(claims, dict):
        raise InvalidRequestError("The subject_token is not a JWT.")
    return claims


def audience_matches(claims: dict[str, Any], audiences: list[str]) -> bool:
    aud = claims.get("aud")
    values = aud if isinstance(aud, list) else [aud]
    return any(isinstance(v, str) and v in audiences for v in values)


class TokenExchangeGrant(grants.BaseGrant, TokenEndpointMixin):
    GRANT_TYPE = TOKEN_EXCHANGE
    server: EmulatorAuthorizationServer

    def validate_token_request(self) -> None:
        data = self.request.payload.data
        subject_token = data.get("subject_token")
        if not subject_token:
            raise InvalidRequestError("Missing 'subject_token' in request.")
        if data.get("subject_token_type") not in JWT_TOKEN_TYPES:
            raise InvalidRequestError("Unsupported 'subject_token_type': a JWT is required.")
        scope = data.get("scope") or "all-apis"
        if not set(scope.split()) <= set(SUPPORTED_SCOPES) - {"offline_access"}:
            raise InvalidScopeError()

        state = self.server.state
        client_id = data.get("client_id")
        sp = None
        if client_id:
            sp = state.service_principals.get(client_id)
            if sp is None:
                raise InvalidClientError(description="The client does not exist on this server.")
        claims = unverified_claims(subject_token)
        candidates = [
            p
            for p in state.policies
            if p.issuer == claims.get("iss")
            and (p.service_principal == client_id if client_id else p.service_principal is None)
        ]
        if not candidates:
            raise InvalidRequestError("No federation policy trusts the subject_token's issuer.")

        failure = "The subject_token does not satisfy any federation policy."
        for policy in candidates:
            try:
                principal = self._match(policy, subject_token, sp)
            except TokenInvalid as exc:
                failure = str(exc)
                continue
            self.request.user = principal
            self.request.client = (
                ServicePrincipalClient(principal, state)
                if isinstance(principal, ServicePrincipal)
                else FederatedUserClient(policy)
            )
            self.request.scope = scope
            return
        raise InvalidRequestError(failure)

    def _match(
        self, policy: FederationPolicy, token: str, sp: ServicePrincipal | None
    ) -> User | ServicePrincipal:
        if not policy.jwks:
            raise TokenInvalid("The federation policy has no keys to verify the subject_token.")
        claims = decode_rs256(token, keyset_from_jwks(policy.jwks))
        check_times(claims, self.server.state.now(), leeway=LEEWAY_SECONDS)
        if policy.audiences and not audience_matches(claims, policy.audiences):
            raise TokenInvalid("The subject_token's audience is not allowed by the policy.")
        subject = claims.get(policy.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise TokenInvalid(f"The subject_token has no '{policy.subject_claim}' claim.")
        if sp is not None:
            if subject != policy.subject:
                raise TokenInvalid("The subject_token's subject is not allowed by the policy.")
            return sp
        if policy.subject and subject != policy.subject:
            raise TokenInvalid("The subject_token's subject is not allowed by the policy.")
        principal = self.server.state.principal(subject)
        if principal is None:
            raise TokenInvalid("The subject_token's subject is not a user or service principal.")
        return principal

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        token = self.generate_token(
            user=self.request.user, scope=self.request.scope, include_refresh_token=False
        )
        token["issued_token_type"] = ACCESS_TOKEN_TYPE
        return 200, token, self.TOKEN_RESPONSE_HEADER
