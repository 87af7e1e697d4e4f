"""First come, first served at the connection pool (``SqlUnitOfWork`` waits here), and the
PostgreSQL connections given back, parked for the next unit of work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import Pool, QueuePool

from adapters.sql.connections import discard
from adapters.sql.engine import POOL_RECYCLE_SECONDS
from adapters.sql.parking import ParkedConnections

__all__ = ["CheckoutQueue", "checkout_queue", "in_use", "lent_connection"]


class CheckoutQueue:
    """Admits at most as many checkouts as the pool holds connections, in arrival order.

    SQLAlchemy's async pool waits on an ``asyncio.Queue``, where a newcomer may take a
    connection that was just returned before the waiter it woke gets to run; that waiter
    then queues again at the back. Under a full pool some requests waited many times the
    median (a write's p99 at 64 connections was four times its p50, README, Performance).
    Here they wait on a semaphore that hands each released place to the longest waiter
    (``asyncio.Semaphore`` does since Python 3.11.1), so the pool never has waiters of its
    own. Giving up after the pool's timeout raises what the pool would have raised.

    With ``parked`` (PostgreSQL), a unit of work that has its place takes a parked
    connection before it asks the pool (``take``), and parks its connection when it is done
    (``park``) before it leaves its place. So every unit of work that reaches the pool
    finds a connection there: the places bound the connections in use and parked together.
    """

    def __init__(self, size: int, timeout: float, parked: ParkedConnections | None = None) -> None:
        self._places = asyncio.Semaphore(size)
        self._timeout = timeout
        self.parked = parked

    async def take(self) -> AsyncConnection | None:
        """A parked connection for the unit of work that holds a place; None if none is parked."""
        return await self.parked.take() if self.parked is not None else None

    def park(self, connection: AsyncConnection) -> bool:
        """Park ``connection`` for the next unit of work; False when it goes back to the pool."""
        return self.parked is not None and self.parked.park(connection)

    async def enter(self) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._places.acquire()
        except TimeoutError as error:
            raise sa_exc.TimeoutError(f"no pooled connection came free within {self._timeout} s") from error

    def leave(self) -> None:
        self._places.release()

    def drop_parked(self) -> None:
        if self.parked is not None:
            self.parked.drop()


_queues: WeakKeyDictionary[Pool, dict[asyncio.AbstractEventLoop, CheckoutQueue]] = WeakKeyDictionary()


def checkout_queue(engine: AsyncEngine) -> CheckoutQueue | None:
    """The queue of ``engine``'s pool on the running loop; None for a pool of no fixed size
    (SQLite's). Disposing of the engine closes the pool's parked connections and forgets
    its queues: the next unit of work queues at the new pool. (An engine derived with
    ``execution_options()`` shares its parent's pool and queue; only disposing of the
    engine that first queued drops the parked connections, and those are all in
    autocommit mode: see ``ParkedConnections.park``.)"""
    sync = engine.sync_engine
    pool = sync.pool
    if not isinstance(pool, QueuePool):
        return None
    loop = asyncio.get_running_loop()
    by_loop = _queues.get(pool)
    if by_loop is None:
        by_loop = _queues[pool] = {}
        event.listen(sync, "engine_disposed", partial(_disposed, pool))
    queue = by_loop.get(loop)
    if queue is None:
        for stale in [other for other in by_loop if other.is_closed()]:
            by_loop.pop(stale).drop_parked()
        parked = ParkedConnections(POOL_RECYCLE_SECONDS) if engine.dialect.name == "postgresql" else None
        queue = by_loop[loop] = CheckoutQueue(pool.size() + max(pool._max_overflow, 0), pool.timeout(), parked)
    return queue


def in_use(engine: AsyncEngine) -> int:
    """How many of ``engine``'s connections are checked out and held: by units of work, not parked."""
    pool = engine.sync_engine.pool
    parked = sum(len(queue.parked or ()) for queue in _queues.get(pool, {}).values())
    checked_out: int = pool.checkedout()  # type: ignore[attr-defined]
    return checked_out - parked


def _disposed(pool: Pool, _engine: Engine) -> None:
    # Runs inside ``AsyncEngine.dispose()``, after the pool closed its idle connections and
    # was replaced: the parked ones are checked out, so it would never close them.
    for queue in _queues.pop(pool, {}).values():
        queue.drop_parked()


@asynccontextmanager
async def lent_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for one short job outside a unit of work (the readiness probe, a tool),
    queued for, taken and given back as units of work do: a pool whose connections are
    parked has none left for ``engine.connect()``. A failure inside the block closes the
    connection instead of giving it back."""
    queue = checkout_queue(engine)
    if queue is not None:
        await queue.enter()
    try:
        connection = (await queue.take() if queue is not None else None) or await engine.connect()
        try:
            yield connection
        except BaseException:
            await discard(connection)
            raise
        if queue is None or not queue.park(connection):
            await connection.close()
    finally:
        if queue is not None:
            queue.leave()
