"""The seed's SQL warehouses and their state.

A seed entry is `{"id", "name", "state": "RUNNING" | "STOPPED", "start_seconds": 3}`. A stopped
warehouse starts when a query reaches it (Databricks starts a stopped warehouse on demand): it is
STARTING for `start_seconds`, answering its Thrift endpoint with HTTP 503 meanwhile, then RUNNING.
`POST .../start` and `.../stop` move it as the REST API does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RUNNING, STOPPED, STARTING = "RUNNING", "STOPPED", "STARTING"
DEFAULT_START_SECONDS = 3.0


@dataclass
class Warehouse:
    id: str
    name: str
    state: str = RUNNING
    start_seconds: float = DEFAULT_START_SECONDS
    starting_since: float = 0.0

    @property
    def http_path(self) -> str:
        return f"/sql/1.0/warehouses/{self.id}"


class Warehouses:
    def __init__(self, seed: list[dict[str, Any]], clock: Callable[[], float]) -> None:
        self._clock = clock
        self._by_id: dict[str, Warehouse] = {}
        for raw in seed:
            state = str(raw.get("state", RUNNING)).upper()
            if state not in (RUNNING, STOPPED):
                raise ValueError(f"warehouse {raw.get('id')}: state must be RUNNING or STOPPED")
            wh = Warehouse(
                id=str(raw["id"]),
                name=str(raw.get("name", raw["id"])),
                state=state,
                start_seconds=float(raw.get("start_seconds", DEFAULT_START_SECONDS)),
            )
            self._by_id[wh.id] = wh

    def all(self) -> list[Warehouse]:
        for wh in self._by_id.values():
            self._advance(wh)
        return list(self._by_id.values())

    def get(self, warehouse_id: str) -> Warehouse | None:
        wh = self._by_id.get(warehouse_id)
        if wh is not None:
            self._advance(wh)
        return wh

    def start(self, wh: Warehouse) -> None:
        if wh.state == STOPPED:
            wh.state = STARTING
            wh.starting_since = self._clock()
            self._advance(wh)

    def stop(self, wh: Warehouse) -> None:
        wh.state = STOPPED

    def _advance(self, wh: Warehouse) -> None:
        if wh.state == STARTING and self._clock() - wh.starting_since >= wh.start_seconds:
            wh.state = RUNNING
