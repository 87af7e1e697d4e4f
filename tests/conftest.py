"""Shared fixtures: hypothesis profiles, real private databases, and the fake Bot API."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support.fake_telegram import FakeTelegram
from tests.support.services import (
    REDIS_URL,
    ServiceDownError,
    create_pg_database,
    drop_pg_database,
    fresh_sqlite_url,
    migrated_sqlite_template,
    require_redis,
    truncate_pg,
)

settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def worker_label(worker_id: str) -> str:
    return worker_id.replace("gw", "w")


@pytest.fixture(scope="session")
def pg_database(worker_label: str) -> Iterator[str]:
    """One migrated PostgreSQL database per test process, dropped at the end."""
    try:
        url = create_pg_database(worker_label)
    except ServiceDownError as error:
        pytest.fail(str(error), pytrace=False)
    yield url
    drop_pg_database(url)


@pytest.fixture
async def pg_url(pg_database: str) -> str:
    """The process's PostgreSQL database, emptied for this test."""
    await truncate_pg(pg_database)
    return pg_database


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite database file for this test."""
    return fresh_sqlite_url(sqlite_template, tmp_path)


@pytest.fixture
def redis_url() -> str:
    try:
        require_redis()
    except ServiceDownError as error:
        pytest.fail(str(error), pytrace=False)
    return REDIS_URL


@pytest.fixture(params=["sqlite", "postgres"])
def any_database_url(request: pytest.FixtureRequest) -> str:
    """Each dialect in turn: a fresh migrated SQLite file, then the process's PostgreSQL
    database, emptied for this test."""
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


@pytest.fixture(params=["memory", "postgres"])
def memory_or_postgres_url(request: pytest.FixtureRequest) -> str:
    """``memory://``, then the process's PostgreSQL database, emptied for this test."""
    return "memory://" if request.param == "memory" else str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API (``tests/support/fake_telegram.py``), serving on this test's loop."""
    async with FakeTelegram() as fake:
        yield fake
