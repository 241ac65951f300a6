"""One at a time per key inside one process.

Events of one ticket often arrive together on different queues (ticket.created, ticket.classified and
ticket.assigned within milliseconds). Consumers that read a document, decide and write it back with a
compare-and-set would race each other in the same process, and every lost race costs a reload and a
second write. ``KeyedLocks`` makes them wait for each other instead; the compare-and-set stays and still
decides between replicas (and after a restart), so this is an optimisation, never a guarantee."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class KeyedLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        try:
            async with lock:
                yield
        finally:
            # the last one out forgets the lock (a waiter keeps it alive)
            if not lock.locked() and not getattr(lock, "_waiters", None) and self._locks.get(key) is lock:
                del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)
