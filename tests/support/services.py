"""Real PostgreSQL and Redis for the tests: each test run makes its own databases.

Services are never skipped: when one is down the test fails with the command that starts it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import redis.asyncio as redis_asyncio

from adapters.sql.tables import metadata
from entrypoints.migrations import migrate

T = TypeVar("T")

PG_ADMIN_DSN = os.environ.get("PORTSIDE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PORTSIDE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

PG_HINT = (
    f"PostgreSQL is not reachable at {PG_ADMIN_DSN}. Start it with: "
    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start "
    "(or point PORTSIDE_TEST_PG_DSN at a server where user postgres may create databases)"
)
REDIS_HINT = (
    f"Redis is not reachable at {REDIS_URL}. Start it with: "
    'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'
)

TABLES = [table.name for table in reversed(metadata.sorted_tables)]


class ServiceDownError(RuntimeError):
    pass


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on a private loop in a thread: session fixtures may be set up from inside a running loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _asyncpg_dsn(database: str) -> str:
    base, _, _ = PG_ADMIN_DSN.rpartition("/")
    return f"{base}/{database}"


def sqlalchemy_url(database: str) -> str:
    return _asyncpg_dsn(database).replace("postgresql://", "postgresql+asyncpg://", 1)


async def _admin(sql: str) -> None:
    try:
        connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        raise ServiceDownError(f"{PG_HINT} ({error})") from error
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def create_pg_database(label: str, *, migrated: bool = True, exact_name: bool = False) -> str:
    """A new, empty (or migrated) database named after ``label`` (exactly ``label`` with
    ``exact_name``); returns its SQLAlchemy URL."""
    name = label if exact_name else f"portside_test_{label}_{uuid.uuid4().hex[:8]}"
    _run(_admin(f'CREATE DATABASE "{name}"'))
    url = sqlalchemy_url(name)
    if migrated:
        _run(migrate(url))
    return url


def drop_pg_database(url: str) -> None:
    name = url.rpartition("/")[2]
    _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def truncate_pg(url: str) -> None:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await connection.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()


def migrated_sqlite_template(directory: Path) -> Path:
    path = directory / "template.db"
    _run(migrate(f"sqlite+aiosqlite:///{path}"))
    return path


def fresh_sqlite_url(template: Path, directory: Path) -> str:
    path = directory / f"{uuid.uuid4().hex}.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


def require_redis() -> None:
    """Fail (never skip) with the start command when Redis does not answer."""
    _run(_ping_redis())


async def _ping_redis() -> None:
    client = redis_asyncio.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except (OSError, redis_asyncio.RedisError) as error:
        raise ServiceDownError(f"{REDIS_HINT} ({error})") from error
    finally:
        await client.aclose()
