"""Events reach the outbox in the same transaction as the state, sealed in their envelope,
and never on rollback or for a write that failed."""

from __future__ import annotations

import json
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.tables import outbox
from application.shared.events import Provenance
from domain.shared.errors import VersionMismatchError
from domain.shared.ids import UserId
from tests.integration.test_identity_repositories import a_session, a_user
from tests.support.units import sql_unit


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> AsyncEngine:
    engine: AsyncEngine = request.getfixturevalue(f"{'pg' if request.param == 'postgres' else 'sqlite'}_engine")
    return engine


async def _outbox(engine: AsyncEngine) -> list[dict[str, object]]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(outbox).order_by(outbox.c.id))
        return [dict(row._mapping) for row in rows]


async def test_commit_writes_the_envelopes_of_stored_aggregates(engine: AsyncEngine) -> None:
    user = a_user()
    session = a_session(user)
    actor = UserId(uuid4())
    async with sql_unit(engine, provenance=Provenance(request_id="req-1", actor_id=actor)) as uow:
        await uow.users.add(user)
        await uow.sessions.add(session)
        await uow.commit()
    rows = await _outbox(engine)
    assert [(row["name"], row["aggregate_type"], row["aggregate_id"]) for row in rows] == [
        ("user.registered", "user", str(user.id)),
        ("session.started", "session", str(session.id)),
    ]
    first = rows[0]
    assert json.loads(str(first["payload"])) == {"user_id": str(user.id), "email": "ada@example.com", "role": "user"}
    assert first["occurred_at"] == user.created_at
    assert (first["actor_id"], first["request_id"]) == (actor, "req-1")
    assert isinstance(first["event_id"], UUID) and first["event_id"].version == 7
    assert rows[0]["event_id"] != rows[1]["event_id"]
    assert all(row["published_at"] is None and row["claim_token"] is None for row in rows)


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
    assert [row["name"] for row in await _outbox(engine)] == ["user.registered"]


async def test_a_write_that_failed_publishes_nothing_of_its_aggregate(engine: AsyncEngine) -> None:
    user = a_user()
    session = a_session(user)
    async with sql_unit(engine) as uow:
        await uow.users.add(user)
        await uow.sessions.add(session)
        await uow.commit()
    async with sql_unit(engine) as uow:
        stale = await uow.sessions.get(session.id)
        assert stale is not None
        stale.version -= 1  # another writer moved on: the compare-and-set refuses this one
        stale.revoke(now=session.created_at, reason="logout")
        with pytest.raises(VersionMismatchError):
            await uow.sessions.save(stale)
        await uow.commit()
    assert [row["name"] for row in await _outbox(engine)] == ["user.registered", "session.started"]


async def test_an_aggregate_changed_but_never_stored_publishes_nothing(engine: AsyncEngine) -> None:
    user = a_user()
    async with sql_unit(engine) as uow:
        await uow.users.add(user)
        await uow.commit()
    async with sql_unit(engine) as uow:
        loaded = await uow.users.get(user.id)
        assert loaded is not None
        loaded.change_password("another-hash", now=user.created_at)
        await uow.commit()
    assert [row["name"] for row in await _outbox(engine)] == ["user.registered"]


async def test_a_revocation_that_changed_nothing_is_not_announced(engine: AsyncEngine) -> None:
    """A log-out racing a password change: both revoke, the stored session is revoked once,
    and one ``session.revoked`` leaves the process."""
    user = a_user()
    session = a_session(user)
    async with sql_unit(engine) as uow:
        await uow.users.add(user)
        await uow.sessions.add(session)
        await uow.commit()
    for reason in ("logout", "password_changed"):
        async with sql_unit(engine) as uow:
            stale = await uow.sessions.get(session.id)
            assert stale is not None
            stale.revoked_at = None  # read before the other revocation committed
            stale.revoke(now=session.created_at, reason=reason)
            await uow.sessions.revoke(stale)
            await uow.commit()
    revoked = [json.loads(str(row["payload"])) for row in await _outbox(engine) if row["name"] == "session.revoked"]
    assert [payload["reason"] for payload in revoked] == ["logout"]
