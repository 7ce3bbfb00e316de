"""The SQL side of `EmulatorState`: warehouses, one service per warehouse, one shared engine.

Every warehouse of a workspace sees the same catalog (as Unity Catalog tables are visible from
every warehouse), so they share one DuckDB database; sessions are per warehouse. The engine is
built on first use, so an emulator that never serves SQL never imports DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .warehouses import Warehouses


class SqlState:
    def __init__(self, seed: list[dict[str, Any]], clock: Callable[[], float]) -> None:
        self.warehouses = Warehouses(seed, clock)
        self._services: dict[str, Any] = {}
        self._engine: Any = None

    def engine(self) -> Any:
        if self._engine is None:
            from .engine import Engine

            self._engine = Engine()
        return self._engine

    def service(self, warehouse_id: str) -> Any:
        service = self._services.get(warehouse_id)
        if service is None:
            from .service import WarehouseService

            service = self._services[warehouse_id] = WarehouseService(self.engine)
        return service

    def forget_sessions(self, warehouse_id: str) -> None:
        """A stopped warehouse loses its sessions, as a restarted Databricks warehouse does."""
        service = self._services.pop(warehouse_id, None)
        if service is not None:
            for session in service.sessions.values():
                session.cursor.close()
