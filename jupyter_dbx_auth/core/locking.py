"""Holding a store's cross-process lock from async code without blocking the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from .store.base import SecretStore

T = TypeVar("T")
_STOP = object()


class LockHolder:
    """Runs store calls in the one thread that owns the lock.

    Store locks are thread locks plus file locks: only their owner may release them, and a store's
    own `put`/`delete` re-enter the lock, which works in the owner thread only (from any other
    thread they would wait for the lock we hold: a deadlock). So every store call made under the
    lock goes through `run`.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._calls: queue.SimpleQueue[Any] = queue.SimpleQueue()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        future: asyncio.Future[T] = self._loop.create_future()
        self._calls.put((fn, args, future))
        return await future

    def _serve(self) -> None:
        while True:
            item = self._calls.get()
            if item is _STOP:
                return
            fn, args, future = item
            try:
                result, error = fn(*args), None
            except BaseException as exc:
                result, error = None, exc
            self._settle(future, result, error)

    def _settle(
        self, future: asyncio.Future[Any], result: Any, error: BaseException | None
    ) -> None:
        def settle() -> None:
            if future.done():
                return
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)

        with contextlib.suppress(RuntimeError):  # loop closed: nobody is waiting any more
            self._loop.call_soon_threadsafe(settle)


@contextlib.asynccontextmanager
async def held_lock(store: SecretStore, namespace: str, key: str) -> AsyncIterator[LockHolder]:
    """`async with held_lock(store, ns, key) as held:` holds `store.lock(ns, key)` for the block;
    `await held.run(store.get, ns, key)` reads and writes under it.

    The lock lives in a dedicated thread (not the default executor, where threads parked on locks
    could starve other work) while the block, HTTP included, runs on the loop.
    """
    loop = asyncio.get_running_loop()
    holder = LockHolder(loop)
    acquired: asyncio.Future[None] = loop.create_future()

    def hold() -> None:
        try:
            with store.lock(namespace, key):
                holder._settle(acquired, None, None)
                holder._serve()
        except BaseException as exc:
            holder._settle(acquired, None, exc)

    threading.Thread(target=hold, name=f"dbx-auth-lock-{namespace}", daemon=True).start()
    try:
        await acquired
        yield holder
    finally:
        # Also on cancellation while waiting: the thread then releases as soon as it acquires.
        holder._calls.put(_STOP)
