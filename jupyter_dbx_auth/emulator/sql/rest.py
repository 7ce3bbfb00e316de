"""`/api/2.0/sql/warehouses`: list, get, start and stop, in the shapes Databricks returns
(`databricks-sdk` `w.warehouses.list()` / `get()` / `start()` / `stop()`)."""

from __future__ import annotations

from typing import Any

from ..handlers.base import DatabricksError
from ..handlers.workspace import WorkspaceHandler
from .handler import SQL_SCOPES
from .warehouses import Warehouse


def warehouse_json(handler: WorkspaceHandler, wh: Warehouse) -> dict[str, Any]:
    host = handler.request.host
    hostname, _, port = host.rpartition(":") if ":" in host else (host, "", "")
    protocol = handler.request.protocol
    return {
        "id": wh.id,
        "name": wh.name,
        "state": wh.state,
        "cluster_size": "2X-Small",
        "warehouse_type": "PRO",
        "enable_serverless_compute": False,
        "auto_stop_mins": 120,
        "num_clusters": 1 if wh.state == "RUNNING" else 0,
        "creator_name": "alice@example.com",
        "odbc_params": {
            "hostname": hostname,
            "path": handler.base_path + wh.http_path,
            "protocol": protocol,
            "port": int(port) if port else (443 if protocol == "https" else 80),
        },
    }


class WarehousesHandler(WorkspaceHandler):
    def get(self) -> None:
        self.authenticate(scopes=SQL_SCOPES)
        listing = [warehouse_json(self, wh) for wh in self.state.sql.warehouses.all()]
        self.write_json(200, {"warehouses": listing})


class WarehouseHandler(WorkspaceHandler):
    def _warehouse(self, warehouse_id: str) -> Warehouse:
        wh = self.state.sql.warehouses.get(warehouse_id)
        if wh is None:
            raise DatabricksError(
                404, "RESOURCE_DOES_NOT_EXIST", f"SQL warehouse {warehouse_id} does not exist."
            )
        return wh

    def get(self, warehouse_id: str) -> None:
        self.authenticate(scopes=SQL_SCOPES)
        self.write_json(200, warehouse_json(self, self._warehouse(warehouse_id)))


class WarehouseActionHandler(WarehouseHandler):
    def post(self, warehouse_id: str, action: str) -> None:  # type: ignore[override]
        caller = self.authenticate(scopes=SQL_SCOPES)
        wh = self._warehouse(warehouse_id)
        # Starting and stopping take CAN_MANAGE; the emulator grants it to admins only.
        if not caller.principal.account_admin:
            raise DatabricksError(
                403, "PERMISSION_DENIED", f"You do not have permission to {action} this warehouse."
            )
        sql = self.state.sql
        if action == "start":
            sql.warehouses.start(wh)
        else:
            sql.warehouses.stop(wh)
            sql.forget_sessions(wh.id)
        self.write_json(200, {})
