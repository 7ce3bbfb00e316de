"""Service principal secrets in the store: where they live, how they are found, when to warn.

Record: namespace "sp", key f"{connection name}/{client_id}":
{"client_id", "client_secret", "expires_at": epoch seconds | None, "label"}. `expires_at` is the
OAuth secret's own expiry (the account console shows it); it drives the expiry warnings.
"""

from __future__ import annotations

from .connections import AuthMethod, Connection
from .errors import CredentialsMissing
from .secret import Secret
from .store.base import SecretStore, StoreRecord

NAMESPACE = "sp"
DAY = 86400.0
MISSING_PREFIX = "Credentials missing"


def key(connection: Connection, client_id: str) -> str:
    return f"{connection.name}/{client_id}"


def record(
    client_id: str, client_secret: Secret, expires_at: float | None, label: str
) -> StoreRecord:
    return {
        "client_id": client_id,
        "client_secret": client_secret.reveal(),  # the store encrypts; this is its boundary
        "expires_at": expires_at,
        "label": label,
    }


def credentials(store: SecretStore, connection: Connection) -> tuple[str, Secret]:
    """(client id, secret): the connection's own secret first, else the stored one."""
    if not connection.client_id:
        raise CredentialsMissing(
            f"Service principal connection {connection.name} has no client id.",
            hint="Set the connection's client_id (the service principal's application id).",
        )
    if connection.client_secret:
        return connection.client_id, connection.client_secret
    stored = store.get(NAMESPACE, key(connection, connection.client_id))
    if not stored or not stored.get("client_secret"):
        raise CredentialsMissing(
            f"No OAuth secret is stored for service principal {connection.client_id} "
            f"of connection {connection.name}.",
            hint="Add the service principal's secret in the Databricks sidebar.",
        )
    return connection.client_id, Secret(stored["client_secret"])


def credential_source(store: SecretStore, connection: Connection) -> str | None:
    """Where a service-principal connection's secret comes from, for the sidebar to say:
    "profile" (its .databrickscfg profile), "environment", "config" (jupyter_server_config.py),
    "stored" (added through the UI or API), or "missing". None for other methods."""
    if connection.method is not AuthMethod.SERVICE_PRINCIPAL:
        return None
    if connection.client_secret:
        if connection.source.startswith("profile"):
            return "profile"
        return "environment" if connection.source == "env" else "config"
    if connection.client_id:
        stored = store.get(NAMESPACE, key(connection, connection.client_id))
        if stored and stored.get("client_secret"):
            return "stored"
    return "missing"


def warnings(
    store: SecretStore, connection: Connection, *, now: float, warn_days: float
) -> tuple[str, ...]:
    """Missing or soon-expiring secret warnings for a service-principal connection."""
    if connection.method is not AuthMethod.SERVICE_PRINCIPAL or connection.client_secret:
        return ()
    if not connection.client_id:
        return (f"{MISSING_PREFIX}: connection {connection.name} names no client id.",)
    stored = store.get(NAMESPACE, key(connection, connection.client_id))
    if not stored or not stored.get("client_secret"):
        return (
            f"{MISSING_PREFIX}: no secret is stored for service principal {connection.client_id}.",
        )
    expires_at = stored.get("expires_at")
    if expires_at is None:
        return ()
    left = (float(expires_at) - now) / DAY
    if left <= 0:
        return (f"The secret of service principal {connection.client_id} has expired.",)
    if left <= warn_days:
        return (
            f"The secret of service principal {connection.client_id} expires in "
            f"{left:.0f} days; create a new one in the account console.",
        )
    return ()
