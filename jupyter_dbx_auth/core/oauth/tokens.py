"""`TokenSet`: what a token endpoint gave us, with every token wrapped in `Secret`.

Times are epoch seconds (the broker's clock), so a record written by one process is meaningful to
another. `repr()` names the shape of the set (expiry, scope, whether a refresh token is held) and
never a token.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..secret import Secret


@dataclass(frozen=True, repr=False)
class TokenSet:
    access_token: Secret
    refresh_token: Secret | None = None
    expires_at: float | None = None  # epoch seconds; None: never expires (PAT)
    scope: str | None = None
    token_type: str = "Bearer"  # noqa: S105
    # When we obtained it; with expires_at this gives the token's life, which caps the refresh
    # margin at half of it (a 10-minute token must not be refreshed "5 minutes early" forever).
    issued_at: float | None = field(default=None, compare=False)

    @classmethod
    def from_response(cls, body: Mapping[str, Any], *, now: float) -> TokenSet:
        """Build from a token endpoint's JSON body (RFC 6749 §5.1)."""
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise ValueError("token response has no access_token")
        refresh = body.get("refresh_token")
        expires_in = body.get("expires_in")
        expires_at: float | None = None
        if expires_in is not None:
            try:
                expires_at = now + float(expires_in)
            except (TypeError, ValueError):
                expires_at = None
        scope = body.get("scope")
        return cls(
            access_token=Secret(access),
            refresh_token=Secret(refresh) if isinstance(refresh, str) and refresh else None,
            expires_at=expires_at,
            scope=scope if isinstance(scope, str) else None,
            token_type=str(body.get("token_type") or "Bearer"),
            issued_at=now,
        )

    def to_record(self, **extra: Any) -> dict[str, Any]:
        """JSON form for the secret store (values are secrets: never log it)."""
        return {
            "refresh_token": self.refresh_token.reveal() if self.refresh_token else None,
            "access_token": self.access_token.reveal(),
            "expires_at": self.expires_at,
            "issued_at": self.issued_at,
            "scope": self.scope,
            "token_type": self.token_type,
            **extra,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> TokenSet | None:
        """Inverse of `to_record`; None when the record holds no token at all.

        A record with only a refresh token (a login imported from the Databricks CLI) gives an
        already-expired access token, so the first use refreshes.
        """
        access = record.get("access_token")
        refresh = record.get("refresh_token")
        if not access and not refresh:
            return None
        return cls(
            access_token=Secret(access or ""),
            refresh_token=Secret(refresh) if refresh else None,
            expires_at=record.get("expires_at") if access else 0.0,
            scope=record.get("scope"),
            token_type=record.get("token_type") or "Bearer",
            issued_at=record.get("issued_at"),
        )

    def expires_in(self, now: float) -> float | None:
        return None if self.expires_at is None else self.expires_at - now

    def refresh_at(self, margin: float) -> float:
        """Epoch time from which the token counts as stale: `margin` before expiry, capped at half
        the token's life so short-lived tokens are still used for most of their life."""
        if self.expires_at is None:
            return float("inf")
        if self.issued_at is not None:
            margin = min(margin, max(0.0, (self.expires_at - self.issued_at) / 2))
        return self.expires_at - margin

    def __repr__(self) -> str:
        return (
            f"TokenSet(token_type={self.token_type!r}, expires_at={self.expires_at!r}, "
            f"scope={self.scope!r}, refresh_token={'held' if self.refresh_token else None})"
        )


def fingerprint(token: Secret) -> str:
    """A short, non-reversible name for an access token.

    Kernels use it to say which token Databricks refused without sending the token back: the
    server refreshes only if that is still its current token, so many kernels reporting the same
    401 cause one refresh, not one each.
    """
    return hashlib.sha256(token.reveal().encode()).hexdigest()[:16]
