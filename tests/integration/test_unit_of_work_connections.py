"""When ``SqlUnitOfWork`` holds a pooled connection and when it gives it back.

With ``hold_connection`` (one per HTTP request) a block that only read keeps its connection
for the next block; a block that wrote returns it on exit, because use-cases hash passwords
between blocks and must not keep a connection checked out meanwhile.
"""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.checkout import in_use
from tests.integration.test_identity_repositories import a_user
from tests.support.units import sql_unit


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest) -> AsyncEngine:
    name = "pg_engine" if request.param == "postgres" else "sqlite_engine"
    engine: AsyncEngine = request.getfixturevalue(name)
    return engine


def checked_out(engine: AsyncEngine) -> int:
    """Connections units of work hold (a parked one is back, though the pool counts it out)."""
    return in_use(engine)


async def test_a_held_read_only_block_keeps_exactly_one_connection_until_release(engine: AsyncEngine) -> None:
    uow = sql_unit(engine, hold_connection=True)
    for _ in range(2):
        async with uow:
            assert await uow.users.get(a_user().id) is None
        assert checked_out(engine) == 1
    await uow.release()
    assert checked_out(engine) == 0


async def test_a_block_that_committed_a_write_returns_its_connection_on_exit(engine: AsyncEngine) -> None:
    uow = sql_unit(engine, hold_connection=True)
    async with uow:
        assert await uow.users.get(a_user().id) is None
    async with uow:
        await uow.users.add(a_user())
        await uow.commit()
    assert checked_out(engine) == 0
    async with uow:
        assert await uow.users.get(a_user().id) is None
    assert checked_out(engine) == 1
    await uow.release()


async def test_a_block_that_wrote_and_rolled_back_returns_its_connection_on_exit(engine: AsyncEngine) -> None:
    uow = sql_unit(engine, hold_connection=True)
    user = a_user()
    with pytest.raises(LookupError):
        async with uow:
            await uow.users.add(user)
            raise LookupError("the use-case gives up")
    assert checked_out(engine) == 0
    async with sql_unit(engine) as uow:
        assert await uow.users.get(user.id) is None


async def test_without_holding_every_block_returns_its_connection(engine: AsyncEngine) -> None:
    uow = sql_unit(engine)
    async with uow:
        assert await uow.users.get(a_user().id) is None
    assert checked_out(engine) == 0
