"""Holding a store's cross-process lock from async code without blocking the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator

from .store.base import SecretStore


@contextlib.asynccontextmanager
async def held_lock(store: SecretStore, namespace: str, key: str) -> AsyncIterator[None]:
    """`async with held_lock(store, ns, key):` holds `store.lock(ns, key)` for the block.

    The lock is taken and released in one dedicated thread (file locks and thread locks must be
    released by their owner) while the block runs on the loop. A dedicated thread rather than the
    default executor: threads parked on a lock there could starve the store calls (`to_thread`)
    made inside the block.
    """
    loop = asyncio.get_running_loop()
    acquired: asyncio.Future[None] = loop.create_future()
    release = threading.Event()

    def resolve(exc: BaseException | None) -> None:
        if not acquired.done():
            if exc is None:
                acquired.set_result(None)
            else:
                acquired.set_exception(exc)

    def hold() -> None:
        try:
            with store.lock(namespace, key):
                loop.call_soon_threadsafe(resolve, None)
                release.wait()
        except Exception as exc:
            with contextlib.suppress(RuntimeError):  # loop closed: nobody is waiting any more
                loop.call_soon_threadsafe(resolve, exc)

    threading.Thread(target=hold, name=f"dbx-auth-lock-{namespace}", daemon=True).start()
    try:
        await acquired
        yield
    finally:
        # Also on cancellation while waiting: the thread then releases as soon as it acquires.
        release.set()
