"""``InMemoryUnitOfWork``: private copies of the tables a block touches, swapped in on commit."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from adapters.memory.database import ContextTables, InMemoryDatabase, OutboxEntry
from adapters.shared.event_codec import encode
from adapters.shared.unit_of_work import Block, Transaction
from adapters.system.ids import Uuid7Generator
from application.shared.events import Provenance
from application.shared.ports import IdGenerator
from application.shared.unit_of_work import UnitOfWork
from domain.shared.ids import UserId

__all__ = ["InMemoryRepository", "InMemoryUnitOfWork"]

_Tables = TypeVar("_Tables", bound=ContextTables)
_Repository = TypeVar("_Repository")


class InMemoryUnitOfWork(UnitOfWork, Transaction["InMemoryUnitOfWork"]):
    """Holds the database lock from enter to exit, so concurrent use-cases run one after
    another, exactly as serializable transactions would. Repositories ask it for their
    context's ``tables``: the committed ones to read, a private copy once they write.
    ``commits`` counts commits, for tests."""

    def __init__(
        self, database: InMemoryDatabase, *, provenance: Provenance | None = None, ids: IdGenerator | None = None
    ) -> None:
        self._database = database
        self._provenance = provenance or Provenance()
        self._ids = ids or Uuid7Generator()
        self._working: dict[type[Any], Any] | None = None
        self._block: Block[InMemoryUnitOfWork] | None = None
        self.commits = 0

    async def __aenter__(self) -> Self:
        if self._block is not None:
            raise RuntimeError("unit of work entered twice")
        await self._database.lock.acquire()
        self._begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._working = self._block = None
        self._database.lock.release()

    def tables(self, kind: type[_Tables], *, write: bool = False) -> _Tables:
        """One context's tables as this block sees them. Reading gives the committed ones
        (which must not be changed) until the block first writes: ``write=True`` gives a
        private copy, made on the first write and kept to the end of the block."""
        if self._working is None:
            raise RuntimeError("unit of work used outside 'async with'")
        tables: _Tables | None = self._working.get(kind)
        if tables is None:
            if not write:
                return self._database.tables(kind)
            tables = self._working[kind] = self._database.tables(kind).copy()
        return tables

    def drop_user(self, user_id: UserId) -> None:
        """What the SQL foreign keys to ``users.id`` cascade: every context's tables that
        define ``drop_user`` (posts, todos, ...) forget the account's rows in this block."""
        assert self._working is not None
        for kind in set(self._database.committed) | set(self._working):
            if hasattr(kind, "drop_user"):
                self.tables(kind, write=True).drop_user(user_id)

    def repository(self, build: Callable[[InMemoryUnitOfWork], _Repository]) -> _Repository:
        return self._current().repository(build)

    async def commit(self) -> None:
        block = self._current()
        assert self._working is not None
        outbox = self._database.outbox
        for envelope in block.events.envelopes(self._ids.new_id, self._provenance):
            outbox.append(OutboxEntry(id=self._database.next_outbox_id(), row=encode(envelope)))
        self._database.committed.update(self._working)
        self.commits += 1
        self._begin()

    def _begin(self) -> None:
        self._working = {}
        self._block = Block(self)

    def _current(self) -> Block[InMemoryUnitOfWork]:
        if self._block is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._block


class InMemoryRepository(Generic[_Tables]):
    """Base of the in-memory repositories: ``_tables`` to read, ``_writable`` to change."""

    def __init__(self, unit: InMemoryUnitOfWork, kind: type[_Tables]) -> None:
        self._unit = unit
        self._kind = kind

    @property
    def _tables(self) -> _Tables:
        return self._unit.tables(self._kind)

    @property
    def _writable(self) -> _Tables:
        return self._unit.tables(self._kind, write=True)
