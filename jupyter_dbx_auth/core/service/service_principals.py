"""Service principal secrets: one record scheme, one public view, expiry warnings.

Record: namespace "sp", key f"{connection name}/{client_id}" (the connection the user sees, for
its own M2M principal and for principals stored beside a user sign-in alike):
{"client_id", "client_secret", "expires_at": epoch seconds | None, "label"}. `expires_at` is the
OAuth secret's own expiry (the account console shows it); it drives the expiry warnings.

A principal stored beside connection `ws` acts through the connection `ws#sp:<client id>` (its own
token cache entry and status); `owner()` maps that back to `ws` for the record key.

What is not secret (client id, label, expiry, whether a secret is held) is kept in memory, read
from the store in a worker thread (`load`), so listings, statuses and warnings never decrypt and
never touch the store on the event loop. The secret itself is decrypted only when a token must be
requested with it (`credentials`, in a worker thread), never for a token already cached.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from typing import Any

from ..connections import AuthMethod, Connection, machine_scopes
from ..errors import CredentialsMissing
from ..secret import Secret
from ..store.base import SecretStore

NAMESPACE = "sp"
DAY = 86400.0
#: Marks the connection a stored principal acts through: f"{connection}{SP_MARK}{client id}".
SP_MARK = "#sp:"
MISSING_PREFIX = "Credentials missing"


def record_key(connection: str, client_id: str) -> str:
    return f"{connection}/{client_id}"


def owner(connection: Connection) -> str:
    """The user-visible connection a (possibly derived) connection belongs to."""
    return connection.name.partition(SP_MARK)[0]


def acting_as(connection: Connection, client_id: str) -> Connection:
    """`connection` as its service principal `client_id` (no secret in it: the broker asks
    `ServicePrincipals.credentials` only when it must request a token)."""
    if connection.method is AuthMethod.SERVICE_PRINCIPAL and connection.client_id == client_id:
        return connection
    return dataclasses.replace(
        connection,
        name=f"{owner(connection)}{SP_MARK}{client_id}",
        method=AuthMethod.SERVICE_PRINCIPAL,
        client_id=client_id,
        client_secret=None,
        scopes=machine_scopes(connection.scopes),
    )


def expiry_warning(client_id: str, expires_at: Any, now: float, warn_days: float) -> str | None:
    if not isinstance(expires_at, (int, float)) or isinstance(expires_at, bool):
        return None
    left = (float(expires_at) - now) / DAY
    if left <= 0:
        return (
            f"The secret of service principal {client_id} has expired: create a new one in the "
            "account console."
        )
    if left <= warn_days:
        return (
            f"The secret of service principal {client_id} expires in {left:.0f} days; create a "
            "new one in the account console."
        )
    return None


class ServicePrincipals:
    """The store's "sp" records, their public view in memory, and the broker's secret source."""

    def __init__(
        self, store: SecretStore, *, warn_days: float = 30.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self.warn_days = warn_days
        self._clock = clock
        # record key -> public fields (no secret); None until loaded.
        self._index: dict[str, dict[str, Any]] | None = None

    # -- the public view -------------------------------------------------------------------

    async def load(self) -> None:
        """(Re)read the public fields of every record, in a worker thread."""
        self._index = await asyncio.to_thread(self._read_all)

    def _read_all(self) -> dict[str, dict[str, Any]]:
        return {key: _public_fields(key, rec) for key, rec in self._store.items(NAMESPACE)}

    @property
    def loaded(self) -> bool:
        return self._index is not None

    def public(self, connection: str | None = None) -> list[dict[str, Any]]:
        """Every principal (of `connection`), as a browser or notebook may see it."""
        now = self._clock()
        return [
            self._view(fields, now)
            for key, fields in sorted((self._index or {}).items())
            if connection is None or fields["connection"] == connection
        ]

    def public_one(self, connection: str, client_id: str) -> dict[str, Any] | None:
        fields = (self._index or {}).get(record_key(connection, client_id))
        return self._view(fields, self._clock()) if fields else None

    def _view(self, fields: dict[str, Any], now: float) -> dict[str, Any]:
        warning = expiry_warning(fields["client_id"], fields["expires_at"], now, self.warn_days)
        return {**fields, "warning": warning}

    def known(self, connection: str, client_id: str) -> bool:
        return record_key(connection, client_id) in (self._index or {})

    # -- records ---------------------------------------------------------------------------

    async def save(
        self,
        connection: Connection,
        client_id: str,
        secret: Secret,
        *,
        expires_at: float | None,
        label: str,
    ) -> dict[str, Any]:
        key = record_key(owner(connection), client_id)
        record = {
            "client_id": client_id,
            "client_secret": secret.reveal(),  # the store encrypts; this is its boundary
            "expires_at": expires_at,
            "label": label,
        }
        await asyncio.to_thread(self._store.put, NAMESPACE, key, record)
        if self._index is None:
            await self.load()
        else:
            self._index[key] = _public_fields(key, record)
        return self._view(self._index[key], self._clock())  # type: ignore[index]

    async def remove(self, connection: Connection, client_id: str) -> bool:
        """Delete the record. One that is not known touches nothing (no store call, no lock
        file: security finding 6)."""
        if self._index is None:
            await self.load()
        key = record_key(owner(connection), client_id)
        if key not in (self._index or {}):
            return False
        removed = await asyncio.to_thread(self._store.delete, NAMESPACE, key)
        (self._index or {}).pop(key, None)
        return bool(removed)

    def connection_for(self, connection: Connection, client_id: str) -> Connection:
        """`acting_as`, for a principal that is stored (`CredentialsMissing` otherwise)."""
        if connection.method is AuthMethod.SERVICE_PRINCIPAL and connection.client_id == client_id:
            return connection
        if not self.known(owner(connection), client_id):
            raise CredentialsMissing(
                f"No secret is stored for service principal {client_id!r} of {connection.name}.",
                hint="Add it in the Databricks sidebar or with the service principal widget.",
            )
        return acting_as(connection, client_id)

    # -- the broker's secret source --------------------------------------------------------

    async def credentials(self, connection: Connection) -> tuple[str, Secret]:
        """(client id, secret): the connection's own secret first, else the stored one."""
        if not connection.client_id:
            raise CredentialsMissing(
                f"Service principal connection {connection.name} has no client id.",
                hint="Set the connection's client_id (the service principal's application id).",
            )
        if connection.client_secret:
            return connection.client_id, connection.client_secret
        key = record_key(owner(connection), connection.client_id)
        stored = await asyncio.to_thread(self._store.get, NAMESPACE, key)
        if not stored or not stored.get("client_secret"):
            raise CredentialsMissing(
                f"No OAuth secret is stored for service principal {connection.client_id} "
                f"of connection {owner(connection)}.",
                hint="Add the service principal's secret in the Databricks sidebar.",
            )
        return connection.client_id, Secret(stored["client_secret"])

    def has_secret(self, connection: Connection) -> bool:
        if connection.client_secret:
            return True
        fields = (self._index or {}).get(record_key(owner(connection), connection.client_id or ""))
        return bool(fields and fields["has_secret"])

    def source(self, connection: Connection) -> str | None:
        """Where a service-principal connection's secret comes from, for the sidebar to say:
        "profile" (its .databrickscfg profile), "environment", "config" (jupyter_server_config),
        "stored" (added through the UI or API) or "missing"; None for other methods. From memory
        only, like `has_secret`."""
        if connection.method is not AuthMethod.SERVICE_PRINCIPAL:
            return None
        if connection.client_secret:
            if connection.source.startswith("profile"):
                return "profile"
            return "environment" if connection.source == "env" else "config"
        return "stored" if self.has_secret(connection) else "missing"

    def warnings(self, connection: Connection) -> tuple[str, ...]:
        """Missing or soon-expiring secret warnings for a service-principal connection."""
        if connection.method is not AuthMethod.SERVICE_PRINCIPAL or connection.client_secret:
            return ()
        if not connection.client_id:
            return (f"{MISSING_PREFIX}: connection {connection.name} names no client id.",)
        fields = (self._index or {}).get(record_key(owner(connection), connection.client_id))
        if not fields or not fields["has_secret"]:
            return (
                f"{MISSING_PREFIX}: no secret is stored for service principal "
                f"{connection.client_id}.",
            )
        warning = expiry_warning(
            connection.client_id, fields["expires_at"], self._clock(), self.warn_days
        )
        return (warning,) if warning else ()


def _public_fields(key: str, record: dict[str, Any]) -> dict[str, Any]:
    # Whitelisted fields only: the record also holds the secret.
    return {
        "connection": key.rpartition("/")[0],
        "client_id": record.get("client_id"),
        "label": record.get("label") or "",
        "expires_at": record.get("expires_at"),
        "has_secret": bool(record.get("client_secret")),
    }
