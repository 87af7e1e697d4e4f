"""``SqlSession.write_later``: new rows and outbox rows are held until the next statement or
the commit. On PostgreSQL a commit that opened no transaction sends them as one statement,
which commits or fails as a whole; anything else behaves as ``write`` did."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy import bindparam, func, insert, literal_column, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.statements import _ASYNCPG, Query, chained
from adapters.sql.tables import outbox, todos
from adapters.sql.todos import _INSERT as _TODO_INSERT
from domain.shared.ids import UserId
from domain.todos.todo import Title, Todo, TodoId
from tests.integration.test_identity_repositories import a_user
from tests.support.builders import T0
from tests.support.statements import log_statements
from tests.support.units import sql_unit


def a_todo(owner: UserId, title: str = "t") -> Todo:
    return Todo.create(
        todo_id=TodoId(uuid4()), owner_id=owner, title=Title.parse(title), description="", due_at=None, now=T0
    )


async def _owner(engine: AsyncEngine) -> UserId:
    user = a_user(f"{uuid4().hex[:8]}@example.com")
    async with sql_unit(engine) as uow:
        await uow.users.add(user)
        await uow.commit()
    return user.id


async def _counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as connection:
        todo_rows = (await connection.execute(select(func.count()).select_from(todos))).scalar_one()
        outbox_rows = (await connection.execute(select(func.count()).select_from(outbox))).scalar_one()
    return todo_rows, outbox_rows


async def _sent(statements: list[str]) -> list[str]:
    for _ in range(3):  # asyncpg calls its query loggers with call_soon
        await asyncio.sleep(0)
    sent, statements[:] = [statement.split()[0] for statement in statements], []
    return sent


async def test_an_insert_and_its_event_are_one_statement_without_a_transaction(pg_engine: AsyncEngine) -> None:
    owner = await _owner(pg_engine)
    before = await _counts(pg_engine)
    statements = log_statements(pg_engine)
    uow = sql_unit(pg_engine)

    async with uow:
        await uow.todos.add(a_todo(owner))
        await uow.commit()

    assert await _sent(statements) == ["WITH"]
    assert await _counts(pg_engine) == (before[0] + 1, before[1] + 1)


async def test_a_statement_after_a_held_write_sends_it_first_inside_a_transaction(pg_engine: AsyncEngine) -> None:
    owner = await _owner(pg_engine)
    statements = log_statements(pg_engine)
    todo = a_todo(owner)
    uow = sql_unit(pg_engine)

    async with uow:
        await uow.todos.add(todo)
        seen = await uow.todos.get(todo.id)
        await uow.commit()

    assert seen is not None and seen.id == todo.id
    assert await _sent(statements) == ["BEGIN", "INSERT", "SELECT", "INSERT", "COMMIT"]


async def test_leaving_without_a_commit_sends_nothing(pg_engine: AsyncEngine) -> None:
    owner = await _owner(pg_engine)
    before = await _counts(pg_engine)
    statements = log_statements(pg_engine)
    uow = sql_unit(pg_engine)

    async with uow:
        await uow.todos.add(a_todo(owner))

    assert await _sent(statements) == []
    assert await _counts(pg_engine) == before


async def test_a_failing_chain_leaves_no_row_of_it(pg_engine: AsyncEngine) -> None:
    before = await _counts(pg_engine)
    uow = sql_unit(pg_engine)

    with pytest.raises((IntegrityError, DBAPIError, asyncpg.ForeignKeyViolationError)):
        async with uow:
            await uow.todos.add(a_todo(UserId(uuid4())))  # no such owner: the foreign key fails
            await uow.commit()

    assert await _counts(pg_engine) == before  # nor its event


async def test_two_rows_of_one_table_go_in_a_transaction_in_order(pg_engine: AsyncEngine) -> None:
    owner = await _owner(pg_engine)
    statements = log_statements(pg_engine)
    first, second = a_todo(owner, "first"), a_todo(owner, "second")
    uow = sql_unit(pg_engine)

    async with uow:
        await uow.todos.add(first)
        await uow.todos.add(second)
        await uow.commit()

    assert await _sent(statements) == ["BEGIN", "INSERT", "INSERT", "INSERT", "INSERT", "COMMIT"]
    async with pg_engine.connect() as connection:
        ids = (await connection.execute(select(outbox.c.aggregate_id).order_by(outbox.c.id.desc()).limit(2))).all()
    assert [row[0] for row in reversed(ids)] == [str(first.id), str(second.id)]


async def test_on_sqlite_held_writes_are_plain_writes(sqlite_engine: AsyncEngine) -> None:
    owner = await _owner(sqlite_engine)
    before = await _counts(sqlite_engine)
    todo = a_todo(owner)

    uow: Any = sql_unit(sqlite_engine)
    async with uow:
        await uow.todos.add(todo)
        assert await uow.todos.get(todo.id) is not None
    assert await _counts(sqlite_engine) == before

    async with uow:
        await uow.todos.add(a_todo(owner))  # a new one: the first gave its event to the block it left
        await uow.commit()
    assert await _counts(sqlite_engine) == (before[0] + 1, before[1] + 1)


def test_only_texts_whose_every_dollar_is_a_parameter_are_chained() -> None:
    plain = Query(insert(outbox).values({name: bindparam(name) for name in ("name", "payload")}))
    quoted = Query(update(todos).where(todos.c.title == literal_column("'$1'")).values(title=bindparam("title")))

    assert chained((_TODO_INSERT, plain), _ASYNCPG) is not None
    assert chained((_TODO_INSERT, quoted), _ASYNCPG) is None
