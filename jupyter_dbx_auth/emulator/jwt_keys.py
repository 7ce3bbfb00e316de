"""RS256 signing for access tokens, the JWKS that publishes the key, and verification.

A fresh key per process: tokens from an earlier emulator run must not verify against this one.
Expiry is checked against the emulator's own (offset-able) clock, not joserfc's wall clock, so the
clock-offset fault knob can expire tokens without anybody sleeping.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey


class TokenInvalid(Exception):
    """The token is not one of ours, is malformed, or has expired. The message is safe to show."""


class SigningKeys:
    def __init__(self) -> None:
        self._key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"})
        self._key.ensure_kid()
        self.kid: str = self._key.kid or ""
        self._keyset = KeySet([self._key])

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self._key.as_dict(private=False)]}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": "RS256", "kid": self.kid}, claims, self._keyset)

    def verify(
        self, token: str, *, issuer_paths: set[str], now: Callable[[], float]
    ) -> dict[str, Any]:
        """Check signature, issuer realm and times. Only the issuer's path is compared: the
        signature already proves this process minted the token, and one emulator is reachable
        as both localhost and 127.0.0.1 (or through a proxy), which must not matter."""
        claims = decode_rs256(token, self._keyset)
        iss = claims.get("iss")
        try:
            path = urlsplit(iss).path.rstrip("/") if isinstance(iss, str) else None
        except ValueError:
            path = None
        if path not in issuer_paths:
            raise TokenInvalid("Token was issued for a different audience or host.")
        check_times(claims, now())
        return claims


def decode_rs256(token: str, keyset: KeySet) -> dict[str, Any]:
    """Signature and shape only; callers check times and claims."""
    try:
        decoded = jwt.decode(token, keyset, algorithms=["RS256"])
    except (JoseError, ValueError, TypeError, KeyError, UnicodeError) as exc:
        raise TokenInvalid("Token is malformed or its signature is invalid.") from exc
    return dict(decoded.claims)


def check_times(claims: dict[str, Any], now: float, *, leeway: float = 0) -> None:
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        raise TokenInvalid("Token has no expiry.")
    if now >= exp + leeway:
        raise TokenInvalid("Token is expired.")
    nbf = claims.get("nbf")
    if isinstance(nbf, (int, float)) and now + leeway < nbf:
        raise TokenInvalid("Token is not valid yet.")


def keyset_from_jwks(jwks: dict[str, Any]) -> KeySet:
    try:
        return KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise TokenInvalid("The federation policy's JWKS is unusable.") from exc


def new_jti() -> str:
    return secrets.token_hex(16)
