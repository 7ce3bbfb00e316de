"""PKCE (RFC 7636), S256 only: plain challenges are never produced or accepted.

The hashing is Authlib's (`authlib.oauth2.rfc7636`); this module only fixes our policy: a verifier
of 64 characters from the unreserved set, drawn from the OS CSPRNG.
"""

from __future__ import annotations

import secrets
import string

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from ..secret import Secret

METHOD = "S256"
_UNRESERVED = string.ascii_letters + string.digits + "-._~"
VERIFIER_LENGTH = 64  # RFC 7636 allows 43..128


def new_verifier(length: int = VERIFIER_LENGTH) -> Secret:
    if not 43 <= length <= 128:
        raise ValueError("a PKCE verifier has 43 to 128 characters")
    return Secret("".join(secrets.choice(_UNRESERVED) for _ in range(length)))


def challenge(verifier: Secret) -> str:
    """BASE64URL(SHA256(verifier)) without padding. Safe to show: it is a one-way hash."""
    return create_s256_code_challenge(verifier.reveal())
