"""What a deployment decides (the server's `c.DatabricksAuth.*` traits), in one value."""

from __future__ import annotations

import dataclasses

from .pending import LOGIN_TTL, PER_CLIENT, PER_USER, TOTAL


@dataclasses.dataclass(frozen=True)
class ServiceSettings:
    """Policies a deployment sets (the server's `c.DatabricksAuth.*` traits)."""

    refresh_margin: float = 300.0
    secret_expiry_warning_days: float = 30.0
    login_ttl: float = LOGIN_TTL
    max_pending_per_user: int = PER_USER
    max_pending_per_client: int = PER_CLIENT
    max_pending_total: int = TOTAL
    #: The address browsers use for the server (`scheme://host[:port]`), for callback URLs.
    public_url: str | None = None
    #: Shortest time between two forced refreshes of one connection (security finding 4).
    forced_refresh_interval: float = 30.0
    #: Hub mode: seconds between two reads of the hub service's status while a sign-in there is
    #: pending (bounded by `login_ttl`).
    hub_poll_interval: float = 3.0
