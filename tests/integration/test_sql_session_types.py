"""``SqlSession``: a ``Query`` and a built statement get the same column-type handling.

On PostgreSQL a ``Query`` bypasses SQLAlchemy's execution, so these tests pin what it must
still do: UTC datetimes in and out, JSON in and out, any column type's processors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, bindparam, insert, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import TypeDecorator

from adapters.sql.engine import create_engine
from adapters.sql.session import SqlSession
from adapters.sql.statements import Query, Result
from adapters.sql.types import UtcDateTime


class Tagged(TypeDecorator[str]):
    """Stored with a prefix that only the type's own processors add and strip."""

    impl = String(50)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else f"tag:{value}"

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value).removeprefix("tag:")


probes = Table(
    "session_type_probes",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=True),
    Column("doc", JSON, nullable=True),
    Column("tag", Tagged, nullable=True),
)
_INSERT = Query(insert(probes).values({column.name: bindparam(column.name) for column in probes.c}))
_BY_ID = Query(select(probes).where(probes.c.id == bindparam("id")))
KINDS = ["query", "statement"]

INDIA = timezone(timedelta(hours=5, minutes=30))
AT = datetime(2026, 3, 1, 12, 30, 15, 250000, tzinfo=INDIA)
DOC = {"tags": ["a", "ü", "東京"], "n": 1, "nested": {"ok": True, "none": None}, "ratio": 0.5}


@pytest.fixture
async def engine(any_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(any_database_url, pool_size=2)
    async with engine.begin() as connection:
        await connection.run_sync(probes.metadata.create_all)
    yield engine
    async with engine.begin() as connection:
        await connection.run_sync(probes.metadata.drop_all)
    await engine.dispose()


async def insert_probe(session: SqlSession, kind: str, row: dict[str, Any]) -> None:
    if kind == "query":
        await session.write(_INSERT, row)
    else:
        await session.write(insert(probes).values(row))


async def read_probe(session: SqlSession, kind: str, probe_id: int) -> Result:
    if kind == "query":
        return await session.read(_BY_ID, {"id": probe_id})
    return await session.read(select(probes).where(probes.c.id == probe_id))


async def a_session_in_another_time_zone(engine: AsyncEngine) -> tuple[Any, SqlSession]:
    """A connection whose server session is not in UTC: output must not depend on it."""
    connection = await engine.connect()
    session = SqlSession(connection)
    if session.dialect == "postgresql":
        await session.read(text("SET TIME ZONE 'America/St_Johns'"))
    return connection, session


@pytest.mark.parametrize("written_with", KINDS)
async def test_utc_datetimes_and_json_read_back_the_same_through_both_kinds(
    engine: AsyncEngine, written_with: str
) -> None:
    connection, session = await a_session_in_another_time_zone(engine)
    try:
        await insert_probe(session, written_with, {"id": 1, "at": AT, "doc": DOC, "tag": "blue"})
        await session.commit()
        by_query = (await read_probe(session, "query", 1)).rows
        by_statement = (await read_probe(session, "statement", 1)).rows
    finally:
        await session.rollback()
        await connection.close()
    expected = {"id": 1, "at": AT, "doc": DOC, "tag": "blue"}
    assert [dict(row) for row in by_query] == [dict(row) for row in by_statement] == [expected]
    assert by_query[0]["at"].tzinfo is UTC
    assert by_statement[0]["at"].tzinfo is UTC
    assert by_query[0]["at"] == AT.astimezone(UTC)


@pytest.mark.parametrize("written_with", KINDS)
async def test_both_kinds_store_utc_and_real_json(engine: AsyncEngine, written_with: str) -> None:
    async with engine.connect() as connection:
        session = SqlSession(connection)
        await insert_probe(session, written_with, {"id": 7, "at": AT, "doc": DOC, "tag": "red"})
        await session.commit()
        json_type = "json_typeof(doc)" if session.dialect == "postgresql" else "json_type(doc)"
        utc_text = (
            "to_char(at AT TIME ZONE 'UTC', 'HH24:MI')" if session.dialect == "postgresql" else "substr(at, 12, 5)"
        )
        stored = (
            await session.read(text(f"SELECT {json_type} AS kind, {utc_text} AS hhmm, tag FROM {probes.name}"))
        ).rows
    assert [dict(row) for row in stored] == [{"kind": "object", "hhmm": "07:00", "tag": "tag:red"}]


@pytest.mark.parametrize("kind", KINDS)
async def test_a_naive_datetime_is_refused_by_both_kinds(engine: AsyncEngine, kind: str) -> None:
    async with engine.connect() as connection:
        session = SqlSession(connection)
        try:
            with pytest.raises(StatementError) as refused:
                await insert_probe(
                    session, kind, {"id": 2, "at": datetime(2026, 3, 1, 12, 30), "doc": None, "tag": None}
                )
        finally:
            await session.rollback()
    assert isinstance(refused.value.orig, ValueError)
    assert "naive datetime" in str(refused.value)


@pytest.mark.parametrize("kind", KINDS)
async def test_nulls_read_back_as_none_through_both_kinds(engine: AsyncEngine, kind: str) -> None:
    async with engine.connect() as connection:
        session = SqlSession(connection)
        await insert_probe(session, kind, {"id": 3, "at": None, "doc": None, "tag": None})
        await session.commit()
        rows = [(await read_probe(session, read_with, 3)).rows for read_with in KINDS]
    assert [[dict(row) for row in found] for found in rows] == [[{"id": 3, "at": None, "doc": None, "tag": None}]] * 2
