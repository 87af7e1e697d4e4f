"""Events reach the outbox in the same transaction as the state, and never on rollback."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.tables import outbox
from tests.integration.test_identity_repositories import a_session, a_user
from tests.support.units import sql_unit


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> AsyncEngine:
    engine: AsyncEngine = request.getfixturevalue(f"{'pg' if request.param == 'postgres' else 'sqlite'}_engine")
    return engine


async def _outbox(engine: AsyncEngine) -> list[tuple[str, dict[str, object]]]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(outbox.c.name, outbox.c.payload).order_by(outbox.c.id))
        return [(row.name, row.payload) for row in rows]


async def test_commit_writes_the_events_of_touched_aggregates(engine: AsyncEngine) -> None:
    user = a_user()
    async with sql_unit(engine) as uow:
        await uow.users.add(user)
        await uow.sessions.add(a_session(user))
        await uow.commit()
    events = await _outbox(engine)
    assert [name for name, _ in events] == ["UserRegistered", "SessionStarted"]
    assert events[0][1] == {
        "occurred_at": user.created_at.isoformat(),
        "user_id": str(user.id),
        "email": "ada@example.com",
        "role": "user",
    }


async def test_rollback_publishes_nothing(engine: AsyncEngine) -> None:
    async with sql_unit(engine) as uow:
        await uow.users.add(a_user())
    with pytest.raises(RuntimeError):
        async with sql_unit(engine) as uow:
            await uow.users.add(a_user("bob@example.com"))
            raise RuntimeError("use-case failed before commit")
    assert await _outbox(engine) == []


async def test_events_are_written_once_even_when_committing_twice(engine: AsyncEngine) -> None:
    user = a_user()
    async with sql_unit(engine) as uow:
        await uow.users.add(user)
        await uow.commit()
        await uow.commit()
    assert [name for name, _ in await _outbox(engine)] == ["UserRegistered"]
