"""``create_engine``: what it promises about secrets, files, timeouts and stale connections."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from sqlalchemy import event, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import create_engine
from adapters.sql.tables import users
from application.errors import DependencyUnavailableError
from tests.support.builders import T0
from tests.support.services import PG_ADMIN_DSN
from tests.support.tcp_proxy import tcp_proxy
from tests.support.units import sql_unit

SECRET_HASH = "$argon2id$v=19$m=65536,t=3,p=4$do-not-log-me"


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest) -> AsyncEngine:
    name = "pg_engine" if request.param == "postgres" else "sqlite_engine"
    engine: AsyncEngine = request.getfixturevalue(name)
    return engine


def a_user_row(user_id: UUID) -> dict[str, Any]:
    return {
        "id": user_id,
        "email": "ada@example.com",
        "display_name": "Ada",
        "password_hash": SECRET_HASH,
        "role": "user",
        "is_active": True,
        "created_at": T0,
        "updated_at": T0,
    }


async def test_a_failed_write_does_not_show_its_parameters(engine: AsyncEngine) -> None:
    user_id = uuid4()
    async with engine.begin() as connection:
        await connection.execute(insert(users).values(a_user_row(user_id)))
    with pytest.raises(IntegrityError) as failure:
        async with engine.begin() as connection:
            await connection.execute(insert(users).values(a_user_row(user_id)))
    assert SECRET_HASH not in str(failure.value)
    assert "hidden due to hide_parameters" in str(failure.value)


async def test_a_new_sqlite_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "portside.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
    finally:
        await engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_an_existing_sqlite_file_is_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "portside.db"
    path.touch(mode=0o640)
    os.chmod(path, 0o640)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


async def test_connecting_gives_up_after_five_seconds_by_default(pg_url: str) -> None:
    engine = create_engine(pg_url)
    seen: dict[str, Any] = {}
    event.listen(engine.sync_engine, "do_connect", lambda _d, _r, _a, params: seen.update(params))
    try:
        async with engine.connect():
            pass
    finally:
        await engine.dispose()
    assert seen["timeout"] == 5.0


async def test_a_server_that_never_answers_is_unavailable_after_the_connect_timeout(pg_url: str) -> None:
    upstream = make_url(pg_url)
    async with tcp_proxy(upstream.host or "127.0.0.1", upstream.port or 5432) as proxy:
        proxy.blackhole()
        url = upstream.set(port=proxy.port).render_as_string(hide_password=False)
        engine = create_engine(url, connect_timeout=0.2)
        started = time.monotonic()
        try:
            with pytest.raises(DependencyUnavailableError):
                async with sql_unit(engine):
                    pass
        finally:
            await engine.dispose()
    assert time.monotonic() - started < 2


async def test_a_pooled_connection_the_server_ended_is_replaced_on_checkout(pg_url: str) -> None:
    engine = create_engine(pg_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            pid = driver.get_server_pid()
        await _terminate_backend(pid)
        for _ in range(100):  # the client notices the closed socket on its next loop iterations
            if driver.is_closed():
                break
            await asyncio.sleep(0.01)
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()


async def _terminate_backend(pid: int) -> None:
    admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
