"""First come, first served at the connection pool (``SqlUnitOfWork`` waits here), and the
PostgreSQL connections given back, parked for the next unit of work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import QueuePool

from adapters.prometheus.pool import observed
from adapters.sql.connections import discard
from adapters.sql.engine import POOL_RECYCLE_SECONDS
from adapters.sql.parking import Handoffs, ParkedConnections

__all__ = ["CheckoutQueue", "checkout_queue", "in_use", "lent_connection"]

_QUEUES = "portside_checkout_queues"
"""The engine's queues, one per event loop, kept in the engine's own ``__dict__``: they
live and die with it (parked connections refer to their engine, so a registry beside it
would keep an engine dropped without ``dispose()`` alive, its connections open)."""


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
    (``park``) before it leaves its place. So a unit of work that reaches the pool finds a
    connection there: the places bound the connections in use and parked together. A
    connection given back while a ``lent_connection`` caller waits goes to that caller
    instead (``handoffs``).
    """

    def __init__(self, size: int, timeout: float, parked: ParkedConnections | None = None) -> None:
        self._places = asyncio.Semaphore(size)
        self._timeout = timeout
        self.parked = parked
        self.handoffs = Handoffs()
        self.disposed = False
        """Whether its engine was disposed of: a connection given back now must be closed
        for good (the old pool it would go back to is never closed)."""

    async def enter(self) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._places.acquire()
        except TimeoutError as error:
            raise sa_exc.TimeoutError(f"no pooled connection came free within {self._timeout} s") from error

    def leave(self) -> None:
        self._places.release()

    async def take(self) -> AsyncConnection | None:
        """A parked connection for the unit of work that holds a place; None if none is parked."""
        return await self.parked.take() if self.parked is not None else None

    def park(self, connection: AsyncConnection) -> bool:
        """Hand ``connection`` to a waiting ``lent_connection`` caller, or park it for the next
        unit of work; False when it goes back to the pool (the caller returns it)."""
        if self.parked is None:
            return False
        if len(self.handoffs) and self.parked.reusable(connection) and self.handoffs.hand(connection):
            return True
        return self.parked.park(connection)

    def drop_parked(self) -> None:
        self.disposed = True
        if self.parked is not None:
            self.parked.drop()


def checkout_queue(engine: AsyncEngine) -> CheckoutQueue | None:
    """The queue of ``engine``'s pool on the running loop; None for a pool of no fixed size
    (SQLite's). Disposing of the engine closes its parked connections and forgets its
    queues: the next unit of work queues at the new pool. An engine derived with
    ``execution_options()`` shares its parent's pool but has queues of its own: use one
    engine per pool."""
    sync = engine.sync_engine
    pool = sync.pool
    if not isinstance(pool, QueuePool):
        return None
    by_loop: dict[asyncio.AbstractEventLoop, CheckoutQueue] | None = sync.__dict__.get(_QUEUES)
    if by_loop is None:
        by_loop = sync.__dict__[_QUEUES] = {}
        event.listen(sync, "engine_disposed", _disposed)
    loop = asyncio.get_running_loop()
    queue = by_loop.get(loop)
    if queue is None:
        for stale in [other for other in by_loop if other.is_closed()]:
            by_loop.pop(stale).drop_parked()
        parked = None
        if engine.dialect.name == "postgresql":
            parked = ParkedConnections(POOL_RECYCLE_SECONDS, counted=observed(engine))
        queue = by_loop[loop] = CheckoutQueue(pool.size() + max(pool._max_overflow, 0), pool.timeout(), parked)
    return queue


def in_use(engine: AsyncEngine) -> int:
    """How many of ``engine``'s connections are checked out and held: by units of work, not parked."""
    sync = engine.sync_engine
    parked = sum(len(queue.parked or ()) for queue in sync.__dict__.get(_QUEUES, {}).values())
    checked_out: int = sync.pool.checkedout()  # type: ignore[attr-defined]
    return checked_out - parked


def _disposed(engine: Engine) -> None:
    # Runs inside ``AsyncEngine.dispose()``, after the pool closed its idle connections and
    # was replaced: the parked ones are checked out, so it would never close them.
    for queue in engine.__dict__.pop(_QUEUES, {}).values():
        queue.drop_parked()
    engine.__dict__[_QUEUES] = {}  # the listener stays; the new pool gets new queues


@asynccontextmanager
async def lent_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for one short job outside a unit of work (the readiness probe, a tool)
    that does not queue behind units of work: a parked connection, else one the pool has
    free, else the next one a unit of work gives back. It goes back to the pool after
    (never parked), where a unit of work that found no parked connection meanwhile waits
    for it. A failure inside the block closes the connection instead."""
    connection = await _lend(engine)
    try:
        yield connection
    except BaseException:
        await discard(connection)
        raise
    await connection.close()


async def _lend(engine: AsyncEngine) -> AsyncConnection:
    queue = checkout_queue(engine)
    if queue is None or queue.parked is None:
        return await engine.connect()
    if (parked := await queue.take()) is not None:
        return parked
    pool: Any = engine.sync_engine.pool
    if pool.checkedout() < pool.size():
        return await engine.connect()  # one is free: no await before the pool hands it out
    handed = queue.handoffs.wait()
    try:
        return await handed
    except BaseException:
        if handed.done() and not handed.cancelled():  # handed over as the wait was given up
            await handed.result().close()
        raise
