"""The engine's precondition: on PostgreSQL, ``SqlSession`` runs reads in autocommit mode
and opens the write transaction itself, so an engine whose connections are not in
autocommit mode is refused where the session is built, with a clear error."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.sql.checkout import in_use
from adapters.sql.engine import create_engine
from adapters.sql.session import SqlSession
from tests.integration.test_sql_session_constraints import a_user_row
from tests.support.units import sql_unit

ENGINES: dict[str, Callable[[str], AsyncEngine]] = {
    "plain create_async_engine": lambda url: create_async_engine(url),
    "create_engine switched to READ COMMITTED": lambda url: create_engine(url).execution_options(
        isolation_level="READ COMMITTED"
    ),
    "create_engine(autocommit_reads=False)": lambda url: create_engine(url, autocommit_reads=False),
}


@pytest.fixture(params=list(ENGINES))
async def engine_without_autocommit(request: pytest.FixtureRequest, pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = ENGINES[request.param](pg_url)
    yield engine
    await engine.dispose()


def checked_out(engine: AsyncEngine) -> int:
    """Connections units of work hold (a parked one is back, though the pool counts it out)."""
    return in_use(engine)


async def test_a_unit_of_work_refuses_it_on_entry_and_returns_the_connection(
    engine_without_autocommit: AsyncEngine,
) -> None:
    with pytest.raises(ValueError, match=r"autocommit.*adapters\.sql\.engine\.create_engine"):
        async with sql_unit(engine_without_autocommit):
            pass
    assert checked_out(engine_without_autocommit) == 0


async def test_a_session_built_directly_refuses_it(engine_without_autocommit: AsyncEngine) -> None:
    async with engine_without_autocommit.connect() as connection:
        with pytest.raises(ValueError, match="autocommit"):
            SqlSession(connection)


async def test_an_engine_from_create_engine_is_accepted_on_both_databases(any_database_url: str) -> None:
    engine = create_engine(any_database_url, pool_size=1)
    try:
        async with sql_unit(engine) as uow:
            assert await uow.users.get(a_user_row()["id"]) is None
    finally:
        await engine.dispose()
    assert checked_out(engine) == 0
