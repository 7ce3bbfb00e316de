"""Where the broker gets what it does not hold itself: service-principal secrets
(`SecretSource`) and, in hub mode, whole access tokens (`RemoteTokens`).

The broker (`broker.py`) keeps the one token cache, its single flight and refresh margin, and the
status board; these protocols are the hooks it dispatches to, so that neither a store scheme nor
a hub's HTTP API lives inside it.
"""

from __future__ import annotations

from typing import Protocol

from .connections import Connection
from .errors import CredentialsMissing
from .oauth.tokens import TokenSet
from .secret import Secret
from .status import Status


class SecretSource(Protocol):
    """Where service principal secrets come from (the service's records, or nowhere)."""

    async def credentials(self, connection: Connection) -> tuple[str, Secret]:
        """(client id, secret) for an M2M connection; raises `CredentialsMissing`."""
        ...

    def has_secret(self, connection: Connection) -> bool:
        """Whether a secret is known for it, from memory only (no store read)."""
        ...

    def warnings(self, connection: Connection) -> tuple[str, ...]:
        """Missing or expiring secret warnings, from memory only."""
        ...


class ConnectionSecretsOnly:
    """No stored secrets: an M2M connection must carry its own."""

    async def credentials(self, connection: Connection) -> tuple[str, Secret]:
        if connection.client_id and connection.client_secret:
            return connection.client_id, connection.client_secret
        raise CredentialsMissing(
            f"Service principal connection {connection.name} has no client id and secret.",
            hint="Set the connection's client_id and client_secret.",
        )

    def has_secret(self, connection: Connection) -> bool:
        return bool(connection.client_secret)

    def warnings(self, connection: Connection) -> tuple[str, ...]:
        return ()


class RemoteTokens(Protocol):
    """Connections whose tokens another process holds (the hub token service): the broker caches
    and single-flights what `token` returns, and never reads or writes the store for them."""

    def serves(self, connection: Connection) -> bool:
        """Whether `connection` is one of these (from memory)."""
        ...

    async def token(self, connection: Connection, *, rejected: Secret | None) -> TokenSet:
        """A fresh access token; `rejected`: the token Databricks refused (a forced refresh).
        Raises `DbxAuthError`s (`LoginRequired` when not signed in there)."""
        ...

    def status(self, connection: Connection) -> Status:
        """Its status as last heard from the holder (from memory)."""
        ...
