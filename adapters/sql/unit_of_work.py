"""``SqlUnitOfWork``: one connection per unit of work (or per request), outbox on commit.

Contexts see it through their own views (``SqlTodoUnitOfWork`` and the like, next to their
repositories), which build repositories on it lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.prometheus.pool import waiting_for_connection
from adapters.shared.unit_of_work import Block, Transaction
from adapters.sql.checkout import CheckoutQueue, checkout_queue, give_back, take_connection
from adapters.sql.connections import discard
from adapters.sql.errors import database_unavailable
from adapters.sql.outbox import write_events
from adapters.sql.session import Precondition, SqlSession
from adapters.system.ids import Uuid7Generator
from application.errors import DependencyUnavailableError
from application.shared.events import Provenance
from application.shared.ports import IdGenerator
from application.shared.unit_of_work import UnitOfWork

__all__ = ["SqlUnitOfWork"]

_Repository = TypeVar("_Repository")


class SqlUnitOfWork(UnitOfWork, Transaction[SqlSession]):
    """``commit()`` writes the events of every aggregate the repositories saw to the outbox
    and commits; the unit of work stays usable afterwards. Leaving the block rolls back
    whatever was not committed. The same instance can be entered again after it was left
    (one request runs authentication and then its use-case).

    With ``hold_connection`` a block that only read keeps its connection for the next
    block, until ``release()``: the composition root does that per HTTP request, so
    authentication and a read-only use-case share one checkout. A block that wrote
    (committed or not) returns its connection on exit, since use-cases do slow work
    between blocks (password hashing) that must not keep a pooled connection busy.
    Without ``hold_connection`` every block checks a connection out and returns it. On
    PostgreSQL a healthy connection given back is parked for the next unit of work rather
    than returned to the pool (``adapters.sql.checkout``), which costs a checkout less.

    ``require(precondition)`` defers a check (the caller's session is live) to the next
    block: it rides on that block's first read (one round trip on PostgreSQL), or on the
    commit of a block that only inserts (the inserts then insert only if it held), runs on
    its own before any other first write, or when the block ends if it ran no statement.
    Either way the block gives nothing out, writes nothing, and the use-case returns
    nothing, before it held.

    When the database cannot be reached, entering the block (or any statement in it)
    raises ``DependencyUnavailableError("database")``. Entering it on a PostgreSQL engine
    whose connections do not idle in autocommit mode (one not made by ``create_engine``)
    raises ``ValueError``: ``SqlSession`` runs reads outside a transaction and opens the
    write transaction itself.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        hold_connection: bool = False,
        provenance: Provenance | None = None,
        ids: IdGenerator | None = None,
    ) -> None:
        self._engine = engine
        self._hold = hold_connection
        self._provenance = provenance or Provenance()
        self._new_event_id = (ids or Uuid7Generator()).new_id
        self._connection: AsyncConnection | None = None
        self._place: CheckoutQueue | None = None
        """The checkout queue this unit of work holds a place in, with its connection."""
        self._block: Block[SqlSession] | None = None
        self._precondition: Precondition | None = None

    def require(self, precondition: Precondition) -> None:
        """Check ``precondition`` with the next block (see the class docstring)."""
        self._precondition = precondition

    async def __aenter__(self) -> Self:
        if self._block is not None:
            raise RuntimeError("unit of work entered twice")
        if self._connection is None:
            self._connection = await self._connect()
        try:
            session = SqlSession(self._connection, reconnect=self._reconnect, precondition=self._precondition)
        except ValueError:  # an engine not made by ``create_engine``; see ``SqlSession``
            await self.release()
            raise
        self._block = Block(session)
        session.events = self._block.events
        return self

    def repository(self, build: Callable[[SqlSession], _Repository]) -> _Repository:
        return self._current().repository(build)

    @property
    def session(self) -> SqlSession:
        """The current block's session, for adapters that run SQL without a repository
        (the outbox reader)."""
        return self._current().handle

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        block, self._block = self._block, None
        if block is None:
            return
        session = block.handle
        try:
            # A block that ran no statement still owes the check; one cut short by a cancel,
            # a broken connection or a failed statement ends with that instead (the check
            # stays owed by the next block). A block that swallowed a failed statement's
            # error does not end quietly: the check refuses to run on a spoiled session.
            failed = session.broken or _interrupted(exc) or (session.spoiled and exc is not None)
            if session.precondition is not None and not failed:
                await session.check_precondition()
        finally:
            self._precondition = session.precondition
            try:
                await session.rollback()
            finally:
                if session.broken or (_interrupted(exc) and session.sent):
                    # Cut short with a write sent, the connection may yet receive the
                    # server's answer to it: no other unit of work gets it.
                    await self._discard()
                elif session.wrote or not self._hold:
                    await self.release()

    async def commit(self) -> None:
        block = self._current()
        await write_events(block.handle, block.events.envelopes(self._new_event_id, self._provenance))
        await block.handle.commit()

    def _current(self) -> Block[SqlSession]:
        if self._block is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._block

    async def release(self) -> None:
        """Give the connection back (the composition root calls this per request): parked
        for the next unit of work on PostgreSQL when it is reusable, else returned to the
        pool, or closed for good when the engine was disposed of meanwhile.

        Never raises: it runs in the request scope's finalizer, after the handler, where an
        exception would drop the client's connection. A connection that cannot be cleaned
        up is invalidated instead of going back to the pool.
        """
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await give_back(self._place, connection)
        except Exception:  # noqa: BLE001 - see the docstring; the pool replaces the connection
            await discard(connection)
        except BaseException:
            await discard(connection)
            raise
        finally:
            self._leave_queue()

    async def _connect(self) -> AsyncConnection:
        """A parked or pooled connection, after waiting for a place in the pool's checkout
        queue (first come, first served: ``adapters.sql.checkout``)."""
        queue = checkout_queue(self._engine)
        try:
            async with waiting_for_connection():
                if queue is not None:
                    await queue.enter()
                try:
                    connection = await take_connection(self._engine, queue)
                except BaseException:
                    if queue is not None:
                        queue.leave()
                    raise
        except Exception as error:
            if database_unavailable(error):
                raise DependencyUnavailableError("database") from error
            raise
        self._place = queue
        return connection

    def _leave_queue(self) -> None:
        place, self._place = self._place, None
        if place is not None:
            place.leave()

    async def _reconnect(self) -> AsyncConnection:
        """A fresh connection for the current block, in place of one that broke."""
        await self._discard()
        self._connection = await self._connect()
        return self._connection

    async def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await discard(connection)
            finally:
                self._leave_queue()


def _interrupted(exc: BaseException | None) -> bool:
    return exc is not None and not isinstance(exc, Exception)
