"""First come, first served at the connection pool (``SqlUnitOfWork`` waits here), and the
PostgreSQL connections given back, parked for the next unit of work."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import QueuePool

from adapters.prometheus.pool import observed
from adapters.sql.connections import discard, return_to_pool
from adapters.sql.engine import POOL_RECYCLE_SECONDS
from adapters.sql.parking import ParkedConnections

__all__ = [
    "CheckoutQueue",
    "checkout_queue",
    "give_back",
    "in_use",
    "lent_connection",
    "on_take",
    "parked_connections",
    "take_connection",
]

_QUEUES = "portside_checkout_queues"
"""The engine's queues, one per event loop, kept in the engine's own ``__dict__``: they
live and die with it (parked connections refer to their engine, so a registry beside it
would keep an engine dropped without ``dispose()`` alive, its connections open)."""
_ON_TAKE = "portside_on_take"
"""The engine's ``on_take`` callbacks, in its ``__dict__`` like the queues."""


class CheckoutQueue:
    """Admits at most as many checkouts as the pool holds connections, in arrival order.

    SQLAlchemy's async pool waits on an ``asyncio.Queue``, where a newcomer may take a
    connection that was just returned before the waiter it woke gets to run; that waiter
    then queues again at the back. Under a full pool some requests waited many times the
    median (a write's p99 at 64 connections was four times its p50, README, Performance).
    Here a place that comes free goes straight to the longest waiter, so the pool never
    has waiters of its own. An ``urgent`` caller (the readiness probe) waits at the front:
    for the next place to come free, not behind every request. Giving up after the pool's
    timeout raises what the pool would have raised.

    With ``parked`` (PostgreSQL), a holder of a place takes a parked connection before it
    asks the pool (``take``), and parks its connection when it is done (``park``) before it
    leaves its place. Every connection checked out is so either parked or held by the
    holder of a place, and a holder that reaches the pool finds a connection there.
    """

    def __init__(self, size: int, timeout: float, parked: ParkedConnections | None = None) -> None:
        self._free = size
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._timeout = timeout
        self.parked = parked
        self.disposed = False
        """Whether its engine was disposed of: a connection given back now must be closed
        for good (the old pool it would go back to is never closed)."""

    async def enter(self, *, urgent: bool = False) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        place: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if urgent:
            self._waiting.appendleft(place)
        else:
            self._waiting.append(place)
        try:
            async with asyncio.timeout(self._timeout):
                await place
        except BaseException as error:
            if place.done() and not place.cancelled():
                self.leave()  # given the place as it gave up: pass it on
            else:
                place.cancel()
            if isinstance(error, TimeoutError):
                raise sa_exc.TimeoutError(f"no pooled connection came free within {self._timeout} s") from error
            raise

    def leave(self) -> None:
        while self._waiting:
            place = self._waiting.popleft()
            if not place.done():
                place.set_result(None)
                return
        self._free += 1

    async def take(self) -> AsyncConnection | None:
        """A parked connection for the holder of a place; None if none is parked."""
        return await self.parked.take() if self.parked is not None else None

    def park(self, connection: AsyncConnection) -> bool:
        """Park ``connection`` for the next holder of a place; False when it goes back to the
        pool (the caller returns it)."""
        return self.parked is not None and self.parked.park(connection)

    def drop_parked(self) -> None:
        self.disposed = True
        if self.parked is not None:
            self.parked.drop()


def checkout_queue(engine: AsyncEngine) -> CheckoutQueue | None:
    """The queue of ``engine``'s pool on the running loop; None for a pool of no fixed size
    (SQLite's). Disposing of the engine closes its parked connections and forgets its
    queues: a unit of work that queues after it queues at the new pool. An engine derived
    with ``execution_options()`` shares its parent's pool but has queues of its own: use
    one engine per pool."""
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
    """How many of ``engine``'s connections are checked out and not parked: held by units
    of work (or ``lent_connection``)."""
    sync = engine.sync_engine
    parked = sum(len(queue.parked or ()) for queue in sync.__dict__.get(_QUEUES, {}).values())
    checked_out: int = sync.pool.checkedout()  # type: ignore[attr-defined]
    return checked_out - parked


def parked_connections(engine: AsyncEngine) -> list[AsyncConnection]:
    """The connections parked now for ``engine``'s units of work, on every event loop: what
    instruments every connection (a statement log in tests) must reach besides the pool's
    ``checkout`` event, which a parked connection does not pass through again."""
    queues = engine.sync_engine.__dict__.get(_QUEUES, {}).values()
    return [connection for queue in queues if queue.parked is not None for connection in queue.parked]


def _disposed(engine: Engine) -> None:
    # Runs inside ``AsyncEngine.dispose()``, after the pool closed its idle connections and
    # was replaced: the parked ones are checked out, so it would never close them. The
    # listener stays; the new pool gets new queues.
    queues = engine.__dict__.get(_QUEUES, {})
    for queue in queues.values():
        queue.drop_parked()
    queues.clear()


def on_take(engine: AsyncEngine, callback: Callable[[AsyncConnection], None]) -> None:
    """Call ``callback`` with each connection of ``engine`` a unit of work or
    ``lent_connection`` takes, parked or from the pool, in the taker's context, before the
    taker uses it: what instruments a connection for one use (the statement spans of a
    sampled request, ``adapters.otel.sql``), where the pool's ``checkout`` event misses the
    parked connections. A callback that raises costs the taker its connection (discarded)."""
    engine.sync_engine.__dict__.setdefault(_ON_TAKE, []).append(callback)


async def take_connection(engine: AsyncEngine, queue: CheckoutQueue | None) -> AsyncConnection:
    """For the holder of a place in ``queue`` (or anyone, where the pool has no queue): a
    parked connection, else one from the pool; ``on_take`` callbacks run on it."""
    parked = await queue.take() if queue is not None else None
    connection = parked or await engine.connect()
    callbacks: list[Callable[[AsyncConnection], None]] = engine.sync_engine.__dict__.get(_ON_TAKE, [])
    try:
        for callback in callbacks:
            callback(connection)
    except BaseException:
        await discard(connection)
        raise
    return connection


async def give_back(queue: CheckoutQueue | None, connection: AsyncConnection) -> None:
    """What the holder of a place in ``queue`` does with its connection when it is done:
    parked for the next holder when it can be, else returned to the pool; closed for good
    when the engine was disposed of meanwhile (the old pool would never close it)."""
    if queue is not None and queue.disposed:
        await discard(connection)
    elif queue is None or not queue.park(connection):
        await return_to_pool(connection)


@asynccontextmanager
async def lent_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for one short job outside a unit of work (the readiness probe, a tool),
    taken and given back as a unit of work's is, with an ``urgent`` place in the queue: it
    waits for the next connection to come free, not behind every request. A failure inside
    the block closes the connection instead of giving it back."""
    queue = checkout_queue(engine)
    if queue is not None:
        await queue.enter(urgent=True)
    try:
        connection = await take_connection(engine, queue)
        try:
            yield connection
        except BaseException:
            await discard(connection)
            raise
        await give_back(queue, connection)
    finally:
        if queue is not None:
            queue.leave()
