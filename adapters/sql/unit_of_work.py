"""``SqlUnitOfWork``: one connection per unit of work (or per request), outbox on commit."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.identity import SqlLoginAttemptRepository, SqlSessionRepository, SqlUserRepository
from adapters.sql.outbox import write_events
from adapters.sql.session import SqlSession
from adapters.sql.todos import SqlTodoRepository
from application.shared.events import SeenAggregates
from application.unit_of_work import UnitOfWork

__all__ = ["SqlUnitOfWork"]


class SqlUnitOfWork(UnitOfWork):
    """``commit()`` writes the events of every aggregate the repositories saw to the outbox
    and commits; the unit of work stays usable afterwards. Leaving the block rolls back
    whatever was not committed. The same instance can be entered again after it was left
    (one request runs authentication and then its use-case).

    With ``hold_connection`` the connection stays checked out between blocks until
    ``release()``: the composition root does that per HTTP request, saving a pool round
    trip. Without it each block checks a connection out and returns it.
    """

    def __init__(self, engine: AsyncEngine, *, hold_connection: bool = False) -> None:
        self._engine = engine
        self._hold = hold_connection
        self._connection: AsyncConnection | None = None
        self._session: SqlSession | None = None
        self._seen = SeenAggregates()

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("unit of work entered twice")
        if self._connection is None:
            self._connection = await self._engine.connect()
        session = SqlSession(self._connection)
        self._session = session
        self._seen = SeenAggregates()
        self.users = SqlUserRepository(session, self._seen)
        self.sessions = SqlSessionRepository(session, self._seen)
        self.login_attempts = SqlLoginAttemptRepository(session)
        self.todos = SqlTodoRepository(session, self._seen)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        try:
            await session.rollback()
        finally:
            if not self._hold:
                await self.release()

    async def commit(self) -> None:
        if self._session is None:
            raise RuntimeError("unit of work used outside 'async with'")
        await write_events(self._session, self._seen.drain_events())
        await self._session.commit()

    async def release(self) -> None:
        """Return the connection to the pool (the composition root calls this per request)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            # A unit of work cut short (a cancelled request) must not hand an open
            # transaction back to the pool.
            driver: Any = (await connection.get_raw_connection()).driver_connection
            if connection.dialect.name == "postgresql" and driver.is_in_transaction():
                await driver.execute("ROLLBACK")
        finally:
            await connection.close()
