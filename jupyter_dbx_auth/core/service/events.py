"""Fan-out of connection status changes to whoever listens (the server's `api/events` streams).

Plain asyncio, no tornado. The broker calls its subscribers synchronously, possibly from a worker
thread; the hub hops onto the service's event loop and puts each event on every stream's bounded
queue. A slow reader loses its oldest events, never blocks the broker: the next snapshot (on
reconnect) catches it up.
Events carry status only (state, message, hint, warnings, identity, expiry), never a token.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

#: Events kept per stream before the oldest are dropped.
QUEUE_SIZE = 256


class EventHub:
    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop
        self._queues: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self.closed = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def __len__(self) -> int:
        return len(self._queues)

    def open(self) -> asyncio.Queue[dict[str, Any] | None]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        return queue

    def close_stream(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        self._queues.discard(queue)

    def publish(self, event: dict[str, Any]) -> None:
        """Thread-safe: may be called from the broker in any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._deliver(event)
        else:
            with contextlib.suppress(RuntimeError):  # loop shutting down
                loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: dict[str, Any] | None) -> None:
        for queue in list(self._queues):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)

    def shutdown(self) -> None:
        """End every stream (server stopping)."""
        self.closed = True
        self._deliver(None)
