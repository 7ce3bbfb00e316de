"""What the hub token service's HTTP handlers ask of the application, and nothing more.

`HubAuthService` is implemented by `service.HubTokenService` over `core.service.AuthService`: one
AuthService per hub user, on that user's `HubStore.for_user(name)` view, with the hub's
connections and its one callback URL; group service principals on `for_group(name)` views. The
handlers never see a store, a refresh token or a client secret, and hold no OAuth logic: every
method takes the calling hub user, identified by the hub (cookie through hub OAuth, or a server's
own `JUPYTERHUB_API_TOKEN`), so no method can name another user's sign-in except the two admin
ones, which the handlers call for hub admins only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..core.secret import Secret


@dataclass(frozen=True)
class HubUser:
    """A hub user as the hub identified them for this request."""

    name: str
    groups: frozenset[str] = frozenset()
    admin: bool = False

    @classmethod
    def from_model(cls, model: Mapping[str, Any]) -> HubUser | None:
        """From JupyterHub's identity model (`HubAuth.get_user`); None for a service or nobody."""
        if not model or model.get("kind", "user") != "user" or not model.get("name"):
            return None
        return cls(
            name=str(model["name"]),
            groups=frozenset(model.get("groups") or ()),
            admin=bool(model.get("admin")),
        )


@dataclass(frozen=True)
class AccessToken:
    """What a user's server receives: a short-lived access token, never a refresh token."""

    access_token: Secret = field(repr=False)
    expires_at: float | None
    token_type: str = "Bearer"  # noqa: S105 - a token type, not a secret

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token.reveal(),
            "expires_at": self.expires_at,
            "token_type": self.token_type,
        }


class HubAuthService(Protocol):
    """The application behind the handlers. Errors are `core.errors.DbxAuthError`s whose message
    and hint a person can act on; they never contain a token or a secret."""

    async def begin_login(
        self, user: HubUser, connection: str, *, redirect_uri: str, next_url: str | None
    ) -> str:
        """Start a U2M sign-in bound to `user`; the authorize URL to send their browser to."""
        ...

    async def complete_login(
        self, user: HubUser, *, state: str | None, code: str
    ) -> tuple[str, str | None]:
        """Finish `user`'s sign-in (state single-use, bound to them); (connection, next URL)."""
        ...

    async def decline_login(self, user: HubUser, *, state: str | None, error: str) -> None:
        """The IdP answered with `error`: burn `user`'s state so it cannot complete later."""
        ...

    async def status(self, user: HubUser) -> dict[str, Any]:
        """`user`'s connections (their own and their groups'), signed in or not; never a token."""
        ...

    async def token(
        self, user: HubUser, connection: str, *, rejected: str | None = None
    ) -> AccessToken:
        """An access token for `user` on `connection` (their sign-in, or a service principal of
        one of their groups). `rejected`: fingerprint of a token Databricks refused."""
        ...

    async def sign_out(self, user: HubUser, connection: str) -> dict[str, Any]:
        """Forget `user`'s own sign-in to `connection` (and revoke it); its new status."""
        ...

    async def overview(self) -> dict[str, Any]:
        """Admin: who is signed in to what and since when, which group SPs exist and when their
        secrets expire. Names and times only."""
        ...

    async def revoke(self, user_name: str, connection: str) -> bool:
        """Admin: forget `user_name`'s sign-in to `connection` (and revoke it at the IdP)."""
        ...
