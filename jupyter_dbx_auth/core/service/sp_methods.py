"""`AuthService`'s methods for stored service principals: list, add (checked with one
client-credentials call), remove, and a connection acting as one of them.

A mixin, so that `service.py` keeps one screenful per concern; the records and their public view
are `service_principals.py`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..connections import Connection
from ..errors import DbxAuthError, NotFound
from ..secret import Secret
from .service_principals import ServicePrincipals, acting_as

if TYPE_CHECKING:
    from ..broker import TokenBroker


class PrincipalMethods:
    """`AuthService`'s service-principal methods."""

    service_principals: ServicePrincipals
    broker: TokenBroker

    if TYPE_CHECKING:  # provided by AuthService

        async def ready(self) -> None: ...

        def names(self) -> list[str]: ...

        def refuse_on_hub(self, conn: Connection, what: str) -> None: ...

        def _audit(self, event: str, connection: str | None, **fields: Any) -> None: ...

    # -- service principals ----------------------------------------------------------------

    async def list_service_principals(self, conn: Connection | None) -> list[dict[str, Any]]:
        """The public view of stored principals (of `conn`), re-read from the store off-loop."""
        await self.service_principals.load()  # another process may have added some
        names = [conn.name] if conn else self.names()
        return [sp for name in names for sp in self.service_principals.public(name)]

    async def add_service_principal(
        self,
        conn: Connection,
        *,
        client_id: str,
        client_secret: Secret,
        expires_at: float | None,
        label: str,
        user: str,
        verify: bool = True,
    ) -> dict[str, Any]:
        """Check the secret with one client-credentials call, then store it; its public view."""
        await self.ready()
        self.refuse_on_hub(conn, "storing a service principal")
        target = acting_as(conn, client_id)
        try:
            if verify:
                await self.broker.verify_client_secret(target, client_id, client_secret)
        except DbxAuthError as exc:
            self._audit(
                "failure",
                conn.name,
                outcome="rejected",
                user=user,
                step="secret_check",
                client_id=client_id,
                error=exc.message,
            )
            raise
        saved = await self.service_principals.save(
            conn, client_id, client_secret, expires_at=expires_at, label=label
        )
        # A U2M connection's status must not change for a principal stored beside it.
        self.broker.credentials_changed(target)
        self._audit("secret_added", conn.name, user=user, client_id=client_id)
        return saved

    async def remove_service_principal(
        self, conn: Connection, client_id: str, *, user: str
    ) -> None:
        self.refuse_on_hub(conn, "removing a service principal")
        removed = await self.service_principals.remove(conn, client_id)
        if not removed:
            raise NotFound(
                f"No service principal {client_id!r} is stored for connection {conn.name}.",
                hint="List them with GET api/service-principals?connection=<name>.",
            )
        self.broker.credentials_changed(acting_as(conn, client_id))
        self._audit("secret_removed", conn.name, user=user, client_id=client_id)

    def sp_connection(self, conn: Connection, client_id: str) -> Connection:
        """`conn` acting as one of its stored service principals (its own token cache entry)."""
        return self.service_principals.connection_for(conn, client_id)
