"""Where state lives: SQL (SQLite or PostgreSQL) or memory (``memory://``).

Each storage provides one request-scoped transaction that every context's unit of work
is a view over, the outbox reader, and the database's health probe.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from dishka import Provider, Scope, provide
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.database import InMemoryDatabase
from adapters.memory.health import InMemoryHealthProbe
from adapters.memory.housekeeping import InMemoryHousekeeper
from adapters.memory.outbox import InMemoryOutboxReader
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.prometheus.pool import observe_pool
from adapters.sql.engine import create_engine
from adapters.sql.health import SqlHealthProbe
from adapters.sql.housekeeping import SqlHousekeeper
from adapters.sql.outbox_reader import SqlOutboxReader
from adapters.sql.unit_of_work import SqlUnitOfWork
from application.shared.events import Provenance
from application.shared.housekeeping import Housekeeper
from application.shared.outbox import OutboxReader
from application.shared.ports import Clock, IdGenerator
from application.shared.readiness import HealthProbe
from entrypoints.settings import MEMORY_DATABASE_URL, Settings

__all__ = [
    "DatabaseProbe",
    "FreshTransactions",
    "MemoryStorage",
    "SqlStorage",
    "Storage",
    "fresh_units",
    "unit_of_work_provider",
]


class Storage(enum.Enum):
    SQL = "sql"
    MEMORY = "memory"

    @classmethod
    def of(cls, settings: Settings) -> Storage:
        return cls.MEMORY if settings.database_url == MEMORY_DATABASE_URL else cls.SQL


@dataclass(frozen=True, slots=True)
class FreshTransactions:
    """Makes transactions of their own, outside any request (long-running loops such as the
    campaign sender): each one checks a connection out per block and gives it back."""

    new: Callable[[], Any]


@dataclass(frozen=True, slots=True)
class DatabaseProbe:
    """The database's readiness probe, whichever storage it is."""

    probe: HealthProbe


class SqlStorage(Provider):
    @provide(scope=Scope.APP)
    async def engine(self, s: Settings) -> AsyncIterator[AsyncEngine]:
        engine = create_engine(s.database_url, pool_size=s.db_pool_size)
        observe_pool(engine)
        yield engine
        await engine.dispose()

    @provide(scope=Scope.REQUEST)
    async def transaction(
        self, engine: AsyncEngine, provenance: Provenance, ids: IdGenerator
    ) -> AsyncIterator[SqlUnitOfWork]:
        # Authentication and a read-only use-case share one checkout; a block that wrote
        # gives its connection back (see SqlUnitOfWork). The finalizer never sees the
        # handler's exception (dishka), so it only releases: the unit of work commits when
        # the use-case says so and rolls back on leaving otherwise.
        uow = SqlUnitOfWork(engine, hold_connection=True, provenance=provenance, ids=ids)
        yield uow
        await uow.release()

    @provide(scope=Scope.APP)
    def outbox_reader(self, engine: AsyncEngine, clock: Clock, ids: IdGenerator) -> OutboxReader:
        return SqlOutboxReader(engine, clock, ids)

    @provide(scope=Scope.APP)
    def fresh(self, engine: AsyncEngine, ids: IdGenerator) -> FreshTransactions:
        return FreshTransactions(lambda: SqlUnitOfWork(engine, provenance=Provenance(), ids=ids))

    @provide(scope=Scope.APP)
    def housekeeper(self, engine: AsyncEngine) -> Housekeeper:
        return SqlHousekeeper(engine)

    @provide(scope=Scope.APP)
    def probe(self, engine: AsyncEngine) -> DatabaseProbe:
        return DatabaseProbe(SqlHealthProbe(engine))


class MemoryStorage(Provider):
    """Everything in this process's memory: gone when it exits (tests, embedding, demos)."""

    database = provide(InMemoryDatabase, scope=Scope.APP)

    @provide(scope=Scope.REQUEST)
    def transaction(self, database: InMemoryDatabase, provenance: Provenance, ids: IdGenerator) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(database, provenance=provenance, ids=ids)

    @provide(scope=Scope.APP)
    def outbox_reader(self, database: InMemoryDatabase, clock: Clock, ids: IdGenerator) -> OutboxReader:
        return InMemoryOutboxReader(database, clock, ids)

    @provide(scope=Scope.APP)
    def fresh(self, database: InMemoryDatabase, ids: IdGenerator) -> FreshTransactions:
        return FreshTransactions(lambda: InMemoryUnitOfWork(database, provenance=Provenance(), ids=ids))

    @provide(scope=Scope.APP)
    def housekeeper(self, database: InMemoryDatabase) -> Housekeeper:
        return InMemoryHousekeeper(database)

    @provide(scope=Scope.APP)
    def probe(self) -> DatabaseProbe:
        return DatabaseProbe(InMemoryHealthProbe())


def unit_of_work_provider(storage: Storage, protocol: Any, *, sql: type[Any], memory: type[Any]) -> Provider:
    """A context's unit of work (``protocol``) on ``storage``: its ``sql`` or ``memory`` view
    over the request's one transaction."""
    view, transaction = (sql, SqlUnitOfWork) if storage is Storage.SQL else (memory, InMemoryUnitOfWork)

    def unit_of_work(transaction: Any) -> Any:
        return view(transaction)

    unit_of_work.__annotations__ = {"transaction": transaction, "return": protocol}  # what dishka reads
    provider = Provider(scope=Scope.REQUEST)
    provider.provide(unit_of_work)
    return provider


def fresh_units(storage: Storage, factory: Any, *, sql: type[Any], memory: type[Any]) -> Provider:
    """``factory`` (a port such as ``BroadcastUnits``): units of work of a context, each on a
    fresh transaction of its own (``FreshTransactions``), for work outside requests."""
    view = sql if storage is Storage.SQL else memory

    def units(fresh: FreshTransactions) -> Any:
        return lambda: view(fresh.new())

    units.__annotations__ = {"fresh": FreshTransactions, "return": factory}  # what dishka reads
    provider = Provider(scope=Scope.APP)
    provider.provide(units)
    return provider
