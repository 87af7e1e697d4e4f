"""``SqlSession``'s transaction rules: ``read`` changes nothing, a failed ``write`` ends the
transaction on both databases, a failed ``attempt`` is undone alone and the transaction goes on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import create_engine
from adapters.sql.session import SqlSession
from adapters.sql.statements import Query
from adapters.sql.tables import users
from application.errors import AlreadyExistsError
from tests.integration.test_sql_session_constraints import _INSERT_USER, KINDS, USER_ERRORS, a_user_row


@pytest.fixture
async def engine(any_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(any_database_url, pool_size=2)
    yield engine
    await engine.dispose()


async def attempt_user(session: SqlSession, kind: str, row: dict[str, Any]) -> None:
    if kind == "query":
        await session.attempt(_INSERT_USER, row, errors=USER_ERRORS)
    else:
        await session.attempt(users.insert().values(row), errors=USER_ERRORS)


async def stored_emails(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        rows = (await SqlSession(connection).read(select(users.c.email).order_by(users.c.email))).rows
    return [row["email"] for row in rows]


@pytest.mark.parametrize("kind", KINDS)
async def test_a_failed_attempt_is_undone_alone_and_the_transaction_goes_on(engine: AsyncEngine, kind: str) -> None:
    async with engine.connect() as connection:
        session = SqlSession(connection)
        try:
            await session.write(_INSERT_USER, a_user_row(email="ada@example.com"))
            with pytest.raises(AlreadyExistsError):
                await attempt_user(session, kind, a_user_row(email="ada@example.com"))
            await attempt_user(session, kind, a_user_row(email="ada-2@example.com"))
            await session.write(_INSERT_USER, a_user_row(email="grace@example.com"))
            await session.commit()
        finally:
            await session.rollback()
    assert await stored_emails(engine) == ["ada-2@example.com", "ada@example.com", "grace@example.com"]


@pytest.mark.parametrize("kind", KINDS)
async def test_after_a_failed_write_nothing_more_runs_and_nothing_commits(engine: AsyncEngine, kind: str) -> None:
    """What ``attempt`` is for: after a plain ``write`` fails, PostgreSQL has aborted the
    transaction and would answer COMMIT with a silent ROLLBACK; both databases refuse alike."""
    async with engine.connect() as connection:
        session = SqlSession(connection)
        try:
            await session.write(_INSERT_USER, a_user_row(email="ada@example.com"))
            with pytest.raises(AlreadyExistsError):
                statement = _INSERT_USER if kind == "query" else users.insert()
                await session.write(statement, a_user_row(email="ada@example.com"), errors=USER_ERRORS)
            with pytest.raises(RuntimeError, match="must end without committing"):
                await session.write(_INSERT_USER, a_user_row(email="grace@example.com"))
            with pytest.raises(RuntimeError, match="must end without committing"):
                await session.read(select(users.c.email))
            with pytest.raises(RuntimeError, match="must end without committing"):
                await session.commit()
        finally:
            await session.rollback()
    assert await stored_emails(engine) == []


async def test_read_refuses_a_row_lock(engine: AsyncEngine) -> None:
    """A lock taken in autocommit mode ends with its statement: it would protect nothing."""
    locking = select(users).where(users.c.email == "ada@example.com").with_for_update()
    async with engine.connect() as connection:
        session = SqlSession(connection)
        for statement in (locking, Query(locking)):
            with pytest.raises(TypeError, match="row locks"):
                await session.read(statement)


async def test_rolling_back_undoes_what_the_attempts_wrote(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        session = SqlSession(connection)
        await attempt_user(session, "query", a_user_row(email="ada@example.com"))
        await session.rollback()
    assert await stored_emails(engine) == []


@pytest.mark.parametrize(
    "statement",
    [Query(delete(users).where(users.c.id == users.c.id)), delete(users), users.insert().values(a_user_row())],
    ids=["query", "delete", "insert"],
)
async def test_read_refuses_a_statement_that_writes(engine: AsyncEngine, statement: Any) -> None:
    async with engine.connect() as connection:
        session = SqlSession(connection)
        with pytest.raises(TypeError, match="write"):
            await session.read(statement)
        assert not session.wrote


@pytest.mark.parametrize("kind", KINDS)
async def test_write_and_read_report_the_rows_they_touched_and_returned(engine: AsyncEngine, kind: str) -> None:
    async with engine.connect() as connection:
        session = SqlSession(connection)
        try:
            for email in ("a@example.com", "b@example.com"):
                assert (await session.write(_INSERT_USER, a_user_row(email=email))).rowcount == 1
            remove = delete(users).where(users.c.email.like("%@example.com"))
            removed = await session.write(Query(remove) if kind == "query" else remove)
            counted = await session.read(select(func.count().label("n")).select_from(users))
        finally:
            await session.rollback()
    assert (removed.rowcount, removed.rows) == (2, ())
    assert (counted.rowcount, counted.rows[0]["n"]) == (1, 0)


async def test_a_statement_error_is_not_taken_for_an_outage(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        session = SqlSession(connection)
        with pytest.raises(DBAPIError):
            await session.read(select(func.no_such_function()))
        assert not session.broken
