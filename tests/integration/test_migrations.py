"""Alembic stairway: every revision upgrades, downgrades and upgrades again, on both dialects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.engine import create_engine
from adapters.sql.tables import POSTS_SEARCH, metadata
from entrypoints.migrations import alembic_config, migrate
from tests.support.services import ServiceDownError, create_pg_database, drop_pg_database


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'stairway.db'}"
        return
    try:
        url = create_pg_database("stairway", migrated=False)
    except ServiceDownError as error:
        pytest.fail(str(error), pytrace=False)
    yield url
    drop_pg_database(url)


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def test_every_revision_goes_up_down_and_up_again(empty_database: str) -> None:
    revisions = _revisions()
    assert revisions, "no migrations found"
    previous = "base"
    for revision in revisions:
        await migrate(empty_database, revision)
        await migrate(empty_database, previous, downgrade=True)
        await migrate(empty_database, revision)
        previous = revision
    assert set(metadata.tables) <= await _tables(empty_database)
    await migrate(empty_database, "base", downgrade=True)
    assert await _tables(empty_database) <= {"alembic_version"}


async def test_head_matches_the_tables_the_code_declares(empty_database: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    await migrate(empty_database)
    engine = create_engine(empty_database)

    def diff(connection: AsyncConnection) -> list[object]:
        options = {"compare_type": True, "include_object": _declared_everywhere}
        context = MigrationContext.configure(connection, opts=options)  # type: ignore[arg-type]
        return list(compare_metadata(context, metadata))

    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(diff)  # type: ignore[arg-type]
    finally:
        await engine.dispose()
    assert differences == []


def _declared_everywhere(item: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Leave out of the comparison what the schema has on PostgreSQL only, by design:
    ``posts.search`` and its GIN index (``adapters.sql.tables.POSTS_SEARCH``)."""
    if type_ == "column" and name == POSTS_SEARCH:
        return getattr(getattr(item, "table", None), "name", None) != "posts"
    return not (type_ == "index" and name == "ix_posts_search")


async def test_0004_turns_old_outbox_rows_into_envelopes_and_back(empty_database: str) -> None:
    """Rows the code of revision 0003 wrote keep their facts under the public name, and a
    downgrade gives them back as they were."""
    from datetime import UTC, datetime

    from sqlalchemy import JSON, DateTime, String, column, insert, select, table

    await migrate(empty_database, "0003")
    user_id = "0196f2a4-8f3e-7c11-9a40-1b2c3d4e5f60"
    at = datetime(2026, 11, 22, 10, tzinfo=UTC)
    registered = {"occurred_at": at.isoformat(), "user_id": user_id, "email": "zoë@example.com", "role": "user"}
    unknown = {"occurred_at": at.isoformat(), "thing": 1}
    old_outbox = table(
        "outbox", column("name", String), column("payload", JSON), column("occurred_at", DateTime(timezone=True))
    )
    engine = create_engine(empty_database, autocommit_reads=False)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(old_outbox).values(name="UserRegistered", payload=registered, occurred_at=at)
            )
            await connection.execute(insert(old_outbox).values(name="SomethingElse", payload=unknown, occurred_at=at))
    finally:
        await engine.dispose()

    await migrate(empty_database)
    rows = await _outbox_rows(empty_database, "SELECT * FROM outbox ORDER BY id")
    assert [(row["name"], row["aggregate_type"], row["aggregate_id"]) for row in rows] == [
        ("user.registered", "user", user_id),
        ("SomethingElse", "unknown", ""),
    ]
    assert rows[0]["payload"] == f'{{"user_id":"{user_id}","email":"zoë@example.com","role":"user"}}'
    assert rows[0]["event_id"] is not None and rows[0]["event_id"] != rows[1]["event_id"]

    await migrate(empty_database, "0003", downgrade=True)
    engine = create_engine(empty_database)
    try:
        async with engine.connect() as connection:
            back = (await connection.execute(select(old_outbox).order_by(text("id")))).mappings().all()
    finally:
        await engine.dispose()
    assert [(row["name"], row["payload"]) for row in back] == [
        ("UserRegistered", registered),
        ("SomethingElse", unknown),
    ]


async def _outbox_rows(url: str, query: str) -> list[dict[str, object]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return [dict(row) for row in (await connection.execute(text(query))).mappings()]
    finally:
        await engine.dispose()
