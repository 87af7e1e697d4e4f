"""One contract suite, every implementation: in-memory, SQLite and PostgreSQL units of work."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.database import InMemoryDatabase
from adapters.redis.pipelined import PipelinedRedis
from adapters.sql.engine import create_engine
from tests.support.outbox import Outbox, memory_outbox, sql_outbox
from tests.support.units import AllRepositories as UnitOfWork
from tests.support.units import memory_unit, sql_unit

UowFactory = Callable[[], UnitOfWork]


@pytest.fixture
async def pg_engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(pg_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sqlite_engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client, to set up and inspect what the code under test stored."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def pipelined(redis_url: str) -> AsyncIterator[PipelinedRedis]:
    """The connection a ``RedisRateLimiter`` sends its hits over."""
    connection = PipelinedRedis.from_url(redis_url)
    yield connection
    await connection.aclose()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def new_uow(request: pytest.FixtureRequest) -> UowFactory:
    """A factory of units of work over one store; each call is a new transaction boundary."""
    if request.param == "memory":
        database = InMemoryDatabase()
        return lambda: memory_unit(database)
    engine: AsyncEngine = request.getfixturevalue(f"{'pg' if request.param == 'postgres' else 'sqlite'}_engine")
    return lambda: sql_unit(engine)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Outbox:
    """An outbox with its reader, on each implementation."""
    if request.param == "memory":
        return memory_outbox()
    return sql_outbox(request.getfixturevalue(f"{'pg' if request.param == 'postgres' else 'sqlite'}_engine"))
