"""`GET api/events`: server-sent events with every connection status change.

Auth: Jupyter (the sidebar's EventSource sends the cookie) or the kernel key (widgets' status
line). The stream opens with a `snapshot` event (the `api/connections` payload), then one `status`
event per change, and a comment line every `events_keepalive` seconds so proxies keep it open.
No token is ever sent here.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.iostream import StreamClosedError

from .base import DbxAuthAPIHandler


def sse(event: str, data: dict[str, Any], event_id: int | None = None) -> bytes:
    """One server-sent event. JSON on one line, so no `data:` continuation is needed."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, separators=(",", ":")))
    return ("\n".join(lines) + "\n\n").encode()


class EventsHandler(DbxAuthAPIHandler):
    _track_activity = False  # an open sidebar must not keep an idle server alive
    _queue: asyncio.Queue[dict[str, Any] | None] | None = None

    @web.authenticated
    @authorized
    async def get(self) -> None:
        hub = self.service.events
        keepalive = float(self.settings.get("dbx_auth_events_keepalive", 15.0))
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Accel-Buffering", "no")  # nginx: do not buffer the stream
        self._queue = queue = hub.open()
        counter = 0
        try:
            self.service.reload()
            self.write(sse("snapshot", await self.service.list_connections(), counter))
            await self.flush()
            while not hub.closed:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=keepalive)
                except asyncio.TimeoutError:
                    self.write(b": keepalive\n\n")
                    await self.flush()
                    continue
                if event is None:
                    break
                counter += 1
                self.write(sse(event.get("type", "status"), event, counter))
                await self.flush()
        except StreamClosedError:
            return
        finally:
            hub.close_stream(queue)
        if not self.request.connection.stream.closed():  # type: ignore[union-attr]
            self.finish(set_content_type="text/event-stream")

    def on_connection_close(self) -> None:
        if self._queue is not None:
            self._queue.put_nowait(None)
