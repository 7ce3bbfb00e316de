"""`POST /sql/1.0/warehouses/{id}`: one Thrift call per HTTP request, each Bearer-checked.

What a client sees when the call cannot reach the warehouse, modelled on Databricks' SQL gateway:
- no Bearer token, or one that is not a token at all: 401;
- a token that is expired, revoked or signed by someone else: 403, with the reason in the
  `x-databricks-reason-phrase` header ("Invalid access token."), which the connector shows;
- a token without the `sql` or `all-apis` scope: 403;
- no warehouse with that id: 404;
- a stopped warehouse: it starts, and answers 503 with Retry-After until it is running (the
  connector retries 503, honouring Retry-After, though never sooner than its `_retry_delay_max`,
  60 s by default).
The gateway's error bodies are not part of any contract; the emulator sends the reason as text.
"""

from __future__ import annotations

import math
from typing import Any

import tornado.web
from thrift.protocol import TBinaryProtocol
from thrift.transport import TTransport

from ..handlers.base import DatabricksError, EmulatorHandler
from ..jwt_keys import TokenInvalid
from .protocol import TCLIService
from .warehouses import STARTING, STOPPED

SQL_SCOPES = frozenset({"sql"})
REASON_HEADER = "x-databricks-reason-phrase"


class GatewayError(Exception):
    def __init__(
        self, status: int, reason: str, *, reason_header: bool = True, retry_after: int = 0
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.status = status
        self.reason = reason
        self.reason_header = reason_header


class WarehouseThriftHandler(EmulatorHandler):
    def post(self, warehouse_id: str) -> None:
        caller = self._caller()
        sql = self.state.sql
        warehouse = sql.warehouses.get(warehouse_id)
        if warehouse is None:
            raise GatewayError(404, "Not Found", reason_header=False)
        if warehouse.state == STOPPED:
            sql.warehouses.start(warehouse)
        if warehouse.state == STARTING:
            left = warehouse.start_seconds - (self.state.now() - warehouse.starting_since)
            raise GatewayError(
                503, "Service Unavailable", reason_header=False, retry_after=max(1, math.ceil(left))
            )
        service = sql.service(warehouse.id)
        service.caller = caller
        out = TTransport.TMemoryBuffer()
        TCLIService.Processor(service).process(
            TBinaryProtocol.TBinaryProtocol(TTransport.TMemoryBuffer(self.request.body)),
            TBinaryProtocol.TBinaryProtocol(out),
        )
        self.set_header("Content-Type", "application/x-thrift")
        self.finish(out.getvalue())

    def get(self, warehouse_id: str) -> None:
        raise GatewayError(405, "Method Not Allowed", reason_header=False)

    def _caller(self) -> str:
        """The principal's name (user name or application id) behind a valid Bearer token."""
        header = self.request.headers.get("Authorization", "")
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or token.count(".") != 2:
            raise GatewayError(401, "Unauthorized", reason_header=False)
        try:
            caller = self.authenticate(scopes=SQL_SCOPES)
        except DatabricksError as exc:
            reason = "Invalid access token." if exc.status == 401 else exc.message
            raise GatewayError(403, reason) from None
        except TokenInvalid:
            raise GatewayError(403, "Invalid access token.") from None
        return caller.principal.subject

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, GatewayError):
            self.set_status(exc.status)
            if exc.reason_header:
                self.set_header(REASON_HEADER, exc.reason)
            if exc.retry_after:
                self.set_header("Retry-After", str(exc.retry_after))
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(f"{exc.status} {exc.reason}\n")
            return
        super().write_error(status_code, **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, (GatewayError, tornado.web.HTTPError)):
            return
        super().log_exception(typ, value, tb)
