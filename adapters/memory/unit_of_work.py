"""``InMemoryUnitOfWork``: private copies of the tables a block touches, swapped in on commit."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from adapters.memory.database import ContextTables, InMemoryDatabase, OutboxEntry
from adapters.shared.event_codec import encode
from adapters.shared.unit_of_work import Block, Transaction
from adapters.system.ids import Uuid7Generator
from application.shared.events import Provenance
from application.shared.ports import IdGenerator
from application.shared.unit_of_work import UnitOfWork

__all__ = ["InMemoryUnitOfWork"]

_Tables = TypeVar("_Tables", bound=ContextTables)
_Repository = TypeVar("_Repository")


class InMemoryUnitOfWork(UnitOfWork, Transaction["InMemoryUnitOfWork"]):
    """Holds the database lock from enter to exit, so concurrent use-cases run one after
    another, exactly as serializable transactions would. Repositories ask it for their
    context's ``tables``: a copy made on first use in the block. ``commits`` counts
    commits, for tests."""

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

    def tables(self, kind: type[_Tables]) -> _Tables:
        if self._working is None:
            raise RuntimeError("unit of work used outside 'async with'")
        tables: _Tables | None = self._working.get(kind)
        if tables is None:
            tables = self._working[kind] = self._database.tables(kind).copy()
        return tables

    def repository(self, build: Callable[[InMemoryUnitOfWork], _Repository]) -> _Repository:
        return self._current().repository(build)

    async def commit(self) -> None:
        block = self._current()
        assert self._working is not None
        outbox = self._database.outbox
        for envelope in block.events.envelopes(self._ids.new_id, self._provenance):
            outbox.append(OutboxEntry(id=len(outbox) + 1, row=encode(envelope)))
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
