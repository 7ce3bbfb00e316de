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

from ...core.secret import Secret
from .base import ApiError, DbxAuthAPIHandler

_MAX = 512  # longest client id, label or secret accepted


def _text(body: dict[str, Any], key: str, *, required: bool) -> str:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise ApiError(400, f"`{key}` is required.", f"Send {key} as a string.")
        return ""
    if not isinstance(value, str) or len(value) > _MAX or not value.isprintable():
        raise ApiError(400, f"`{key}` must be a printable string.", f"Check {key}.")
    return value.strip()


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
        name = self.get_query_argument("connection", None)
        conn = self.service.get(name) if name else None
        self.write_json({"service_principals": await self.service.list_service_principals(conn)})

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        conn = self.service.get(_text(body, "connection", required=True))
        client_id = _text(body, "client_id", required=True)
        raw_secret = body.get("client_secret")
        if not isinstance(raw_secret, str) or not raw_secret or len(raw_secret) > _MAX:
            raise ApiError(400, "`client_secret` is required.", "Paste the OAuth secret.")
        if "/" in client_id or not client_id.isprintable():
            raise ApiError(400, "`client_id` is not a valid application id.", "Check it.")
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
        name = self.get_query_argument("connection", None)
        client_id = self.get_query_argument("client_id", None)
        if not name or not client_id:
            raise ApiError(400, "`connection` and `client_id` are required.", "Pass both.")
        await self.service.remove_service_principal(
            self.service.get(name), client_id, user=self.user_name()
        )
        self.set_status(204)
        self.finish()
