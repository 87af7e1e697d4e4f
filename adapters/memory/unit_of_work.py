"""``InMemoryUnitOfWork``: a private copy of the tables, swapped in on commit."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from adapters.memory.database import InMemoryDatabase, Tables
from adapters.memory.identity import (
    InMemoryLoginAttemptRepository,
    InMemorySessionRepository,
    InMemoryUserRepository,
)
from adapters.memory.todos import InMemoryTodoRepository
from application.shared.events import SeenAggregates
from application.unit_of_work import UnitOfWork

__all__ = ["InMemoryUnitOfWork"]


class InMemoryUnitOfWork(UnitOfWork):
    """Holds the database lock from enter to exit, so concurrent use-cases run one after
    another, exactly as serializable transactions would. ``commits`` counts commits, for tests."""

    def __init__(self, database: InMemoryDatabase) -> None:
        self._database = database
        self._tables: Tables | None = None
        self._seen = SeenAggregates()
        self.commits = 0

    async def __aenter__(self) -> Self:
        await self._database.lock.acquire()
        self._begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._tables = None
        self._database.lock.release()

    async def commit(self) -> None:
        if self._tables is None:
            raise RuntimeError("unit of work used outside 'async with'")
        self._tables.outbox.extend(self._seen.drain_events())
        self._database.committed = self._tables
        self.commits += 1
        self._begin()

    def _begin(self) -> None:
        self._tables = self._database.committed.copy()
        self._seen = SeenAggregates()
        self.users = InMemoryUserRepository(self._tables, self._seen)
        self.sessions = InMemorySessionRepository(self._tables, self._seen)
        self.login_attempts = InMemoryLoginAttemptRepository(self._tables)
        self.todos = InMemoryTodoRepository(self._tables, self._seen)
