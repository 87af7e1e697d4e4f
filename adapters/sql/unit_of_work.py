"""``SqlUnitOfWork``: one connection and transaction per use-case, outbox on commit."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.identity import SqlLoginAttemptRepository, SqlSessionRepository, SqlUserRepository
from adapters.sql.outbox import write_events
from adapters.sql.todos import SqlTodoRepository
from application.shared.events import SeenAggregates
from application.unit_of_work import UnitOfWork

__all__ = ["SqlUnitOfWork"]


class SqlUnitOfWork(UnitOfWork):
    """Checks a connection out of the pool on enter and returns it on exit.

    ``commit()`` writes the events of every aggregate the repositories saw to the outbox and
    commits; the unit of work stays usable for more work in a new transaction. Leaving the
    block rolls back whatever was not committed. The same instance can be entered again
    after it was left (one request may run authentication and then its use-case).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._seen = SeenAggregates()

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("unit of work entered twice")
        connection = await self._engine.connect()  # the transaction begins with the first statement
        self._connection = connection
        self._seen = SeenAggregates()
        self.users = SqlUserRepository(connection, self._seen)
        self.sessions = SqlSessionRepository(connection, self._seen)
        self.login_attempts = SqlLoginAttemptRepository(connection)
        self.todos = SqlTodoRepository(connection, self._seen)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if connection.in_transaction():
                await connection.rollback()
        finally:
            await connection.close()

    async def commit(self) -> None:
        connection = self._active()
        await write_events(connection, self._seen.drain_events())
        await connection.commit()

    def _active(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._connection
