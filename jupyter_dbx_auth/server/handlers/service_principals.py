"""`api/service-principals`: per connection, the stored service principals.

Auth: GET and POST accept Jupyter auth (POST with XSRF) or the kernel key (the picker widget adds
one); DELETE is Jupyter only. The secret is write-only: it is accepted in POST and never returned.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from ...core import validation
from ...core.secret import Secret
from ...core.validation import MAX_NAME, MAX_SECRET, text
from .base import ApiError, DbxAuthAPIHandler


def _text(body: dict[str, Any], key: str, *, required: bool, max_len: int = MAX_NAME) -> str:
    # core.validation: printable, encodable (no lone surrogate), bounded; a 400 otherwise.
    return (text(body.get(key), key, max_len=max_len, required=required) or "").strip()


def parse_expiry(value: Any) -> float | None:
    """Epoch seconds, or an ISO date/datetime (the account console shows dates)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ApiError(400, "`expires_at` must be a date or epoch seconds.", "e.g. 2027-01-31")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or not 0 < value < 1e11:
            raise ApiError(400, "`expires_at` is out of range.", "Use a date such as 2027-01-31.")
        return float(value)
    if isinstance(value, str) and len(value) <= 40:
        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            return when.timestamp()
    raise ApiError(400, "`expires_at` must be a date or epoch seconds.", "e.g. 2027-01-31")


class ServicePrincipalsHandler(DbxAuthAPIHandler):
    kernel_methods = frozenset({"GET", "POST"})  # DELETE: Jupyter users only

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        name = text(self.get_query_argument("connection", None), "connection")
        conn = self.service.get(name) if name else None
        self.write_json({"service_principals": await self.service.list_service_principals(conn)})

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        conn = self.service.get(_text(body, "connection", required=True))
        client_id = validation.client_id(body.get("client_id"), required=True) or ""
        # Never stripped or echoed; a lone surrogate in it used to fail in the HTTP client (500).
        raw_secret = text(body.get("client_secret"), "client_secret", max_len=MAX_SECRET)
        if not raw_secret:
            raise ApiError(400, "`client_secret` is required.", "Paste the OAuth secret.")
        saved = await self.service.add_service_principal(
            conn,
            client_id=client_id,
            client_secret=Secret(raw_secret),
            expires_at=parse_expiry(body.get("expires_at")),
            label=_text(body, "label", required=False),
            user=self.user_name(),
        )
        self.write_json(saved, status=201)

    @tornado.web.authenticated
    @authorized
    async def delete(self) -> None:
        name = text(self.get_query_argument("connection", None), "connection")
        # Bounded: an over-long id used to reach the store as a file name (ENAMETOOLONG, 500).
        client_id = validation.client_id(self.get_query_argument("client_id", None))
        if not name or not client_id:
            raise ApiError(400, "`connection` and `client_id` are required.", "Pass both.")
        await self.service.remove_service_principal(
            self.service.get(name), client_id, user=self.user_name()
        )
        self.set_status(204)
        self.finish()
