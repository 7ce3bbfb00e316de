"""A stand-in for a workload's OIDC provider (Kubernetes, GitHub Actions, ...) for WIF tests.

Its key pair is generated per instance and never stored: the harness puts only the public JWKS
into the emulator's seed, so no private key lives in the repository.
"""

from __future__ import annotations

import time
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey


class OidcTestIssuer:
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self._key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"})
        self._key.ensure_kid()
        self._keyset = KeySet([self._key])

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self._key.as_dict(private=False)]}

    def mint(
        self, subject: str, audience: str | list[str], *, ttl: int = 300, **claims: Any
    ) -> str:
        """A signed JWT. `claims` override or extend the standard ones (e.g. `email=...`)."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            **claims,
        }
        return jwt.encode({"alg": "RS256", "kid": self._key.kid}, body, self._keyset)
