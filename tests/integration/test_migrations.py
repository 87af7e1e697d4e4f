"""Alembic stairway: every revision upgrades, downgrades and upgrades again, on both dialects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.engine import create_engine
from adapters.sql.tables import metadata
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
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, metadata))

    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(diff)  # type: ignore[arg-type]
    finally:
        await engine.dispose()
    assert differences == []


async def test_0004_turns_old_outbox_rows_into_envelopes(empty_database: str) -> None:
    """A row the identity code of revision 0003 wrote keeps its facts under the public name."""
    from datetime import UTC, datetime

    from sqlalchemy import JSON, DateTime, String, column, insert, table, text

    await migrate(empty_database, "0003")
    user_id = "0196f2a4-8f3e-7c11-9a40-1b2c3d4e5f60"
    payload = {"occurred_at": "2026-11-22T10:00:00+00:00", "user_id": user_id, "email": "a@example.com"}
    old_outbox = table(
        "outbox", column("name", String), column("payload", JSON), column("occurred_at", DateTime(timezone=True))
    )
    engine = create_engine(empty_database, autocommit_reads=False)
    try:
        async with engine.begin() as connection:
            at = datetime(2026, 11, 22, 10, tzinfo=UTC)
            await connection.execute(insert(old_outbox).values(name="UserRegistered", payload=payload, occurred_at=at))
    finally:
        await engine.dispose()
    await migrate(empty_database)
    engine = create_engine(empty_database)
    try:
        async with engine.connect() as connection:
            row = (await connection.execute(text("SELECT * FROM outbox"))).mappings().one()
    finally:
        await engine.dispose()
    assert (row["name"], row["aggregate_type"], row["aggregate_id"]) == ("user.registered", "user", user_id)
    assert row["payload"] == f'{{"user_id":"{user_id}","email":"a@example.com"}}'
    assert row["event_id"] is not None and row["published_at"] is None
