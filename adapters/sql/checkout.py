"""First come, first served at the connection pool (``SqlUnitOfWork`` waits here)."""

from __future__ import annotations

import asyncio
from weakref import WeakKeyDictionary

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool, QueuePool

__all__ = ["CheckoutQueue", "checkout_queue"]


class CheckoutQueue:
    """Admits at most as many checkouts as the pool holds connections, in arrival order.

    SQLAlchemy's async pool waits on an ``asyncio.Queue``, where a newcomer may take a
    connection that was just returned before the waiter it woke gets to run; that waiter
    then queues again at the back. Under a full pool some requests waited many times the
    median (a write's p99 at 64 connections was four times its p50, README, Performance).
    Here they wait on a semaphore that hands each released place to the longest waiter
    (``asyncio.Semaphore`` does since Python 3.11.1), so the pool never has waiters of its
    own. Giving up after the pool's timeout raises what the pool would have raised.
    """

    def __init__(self, size: int, timeout: float) -> None:
        self._places = asyncio.Semaphore(size)
        self._timeout = timeout

    async def enter(self) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._places.acquire()
        except TimeoutError as error:
            raise sa_exc.TimeoutError(f"no pooled connection came free within {self._timeout} s") from error

    def leave(self) -> None:
        self._places.release()


_queues: WeakKeyDictionary[Pool, dict[asyncio.AbstractEventLoop, CheckoutQueue]] = WeakKeyDictionary()


def checkout_queue(engine: AsyncEngine) -> CheckoutQueue | None:
    """The queue of ``engine``'s pool on the running loop; None for a pool of no fixed size
    (SQLite's)."""
    pool = engine.sync_engine.pool
    if not isinstance(pool, QueuePool):
        return None
    loop = asyncio.get_running_loop()
    by_loop = _queues.setdefault(pool, {})
    queue = by_loop.get(loop)
    if queue is None:
        for stale in [other for other in by_loop if other.is_closed()]:
            del by_loop[stale]
        queue = by_loop[loop] = CheckoutQueue(pool.size() + max(pool._max_overflow, 0), pool.timeout())
    return queue
