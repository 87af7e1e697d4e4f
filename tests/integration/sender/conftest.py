"""Fixtures of the campaign sender tests: a world per store (memory, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.broadcast import InMemoryBroadcastUnitOfWork
from adapters.memory.database import InMemoryDatabase
from adapters.memory.outbox import InMemoryOutboxReader
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.sql.broadcast import SqlBroadcastUnitOfWork
from adapters.sql.outbox_reader import SqlOutboxReader
from adapters.sql.unit_of_work import SqlUnitOfWork
from adapters.system.clock import SystemClock
from adapters.telegram.http_client import HttpTelegramClient
from application.shared.outbox import OutboxReader
from tests.integration.conftest import UowFactory
from tests.integration.sender.world import Units, World
from tests.integration.test_identity_repositories import a_user, stored
from tests.support.fake_telegram import FakeTelegram
from tests.support.units import memory_unit, sql_unit

Stores = tuple[Units, UowFactory, OutboxReader]


@pytest.fixture(params=["memory", "postgres"])
def stores(request: pytest.FixtureRequest) -> Stores:
    """Fresh broadcast units of work, the contract suite's units, and the outbox, on one store."""
    if request.param == "memory":
        database = InMemoryDatabase()
        return (
            lambda: InMemoryBroadcastUnitOfWork(InMemoryUnitOfWork(database)),
            lambda: memory_unit(database),
            InMemoryOutboxReader(database, SystemClock()),
        )
    engine: AsyncEngine = request.getfixturevalue("pg_engine")
    return (
        lambda: SqlBroadcastUnitOfWork(SqlUnitOfWork(engine)),
        lambda: sql_unit(engine),
        SqlOutboxReader(engine, SystemClock()),
    )


@pytest.fixture
async def world(stores: Stores) -> AsyncIterator[World]:
    units, new_uow, outbox = stores
    user = a_user(f"{uuid4().hex[:8]}@example.com")
    await stored(new_uow, user)
    async with FakeTelegram(latency=0.005) as fake:
        telegram = HttpTelegramClient(fake.token, fake.api_base, read_timeout=0.5)
        try:
            yield World(units, fake, telegram, user.id, outbox)
        finally:
            await telegram.aclose()
