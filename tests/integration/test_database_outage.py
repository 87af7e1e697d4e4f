"""A database outage, faked with a TCP proxy in front of PostgreSQL that the test cuts.

While the database is unreachable every request that needs it answers 503 with Retry-After
(never 500, never a dropped connection); once it is back, every request succeeds, including
the first ones, which find the pool full of connections the outage closed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.checkout import in_use
from adapters.sql.engine import create_engine
from adapters.sql.session import SqlSession
from application.errors import AlreadyExistsError, DependencyUnavailableError
from domain.identity.email import Email
from domain.identity.ids import SessionId
from domain.todos.todo import TodoId
from tests.http.conftest import API, Api, running_api
from tests.http.helpers import assert_problem
from tests.integration.test_identity_repositories import a_user
from tests.support.settings import test_settings
from tests.support.tcp_proxy import TcpProxy, tcp_proxy
from tests.support.units import sql_unit

POOL_SIZE = 5


@dataclass
class Outage:
    api: Api
    proxy: TcpProxy
    auth: dict[str, str]
    todo_url: str

    async def read(self) -> httpx.Response:
        return await self.api.client.get(self.todo_url, headers=self.auth)

    async def login(self) -> httpx.Response:
        return await self.api.login()

    async def fill_the_pool(self) -> None:
        """Check out every pooled connection at once, so each is open when the outage hits."""
        responses = await asyncio.gather(*(self.read() for _ in range(POOL_SIZE * 2)))
        assert {r.status_code for r in responses} == {200}


@pytest.fixture
async def outage(pg_url: str) -> AsyncIterator[Outage]:
    upstream = make_url(pg_url)
    async with tcp_proxy(upstream.host or "127.0.0.1", upstream.port or 5432) as proxy:
        url = upstream.set(port=proxy.port).render_as_string(hide_password=False)
        async with running_api(test_settings(url, db_pool_size=POOL_SIZE)) as api:
            auth = api.bearer((await api.tokens())["access_token"])
            created = await api.client.post(f"{API}/todos", json={"title": "Survive"}, headers=auth)
            assert created.status_code == 201, created.text
            yield Outage(api=api, proxy=proxy, auth=auth, todo_url=created.headers["Location"])


def assert_unavailable(response: httpx.Response) -> None:
    body = assert_problem(response, 503)
    assert body["type"] == "urn:portside:problem:dependency-unavailable"
    assert int(response.headers["retry-after"]) >= 1


async def test_reads_and_logins_answer_503_with_retry_after_while_the_database_is_cut(outage: Outage) -> None:
    await outage.fill_the_pool()
    outage.proxy.cut()
    for _ in range(3):
        assert_unavailable(await outage.read())
        assert_unavailable(await outage.login())
    assert_unavailable(await outage.api.client.post(f"{API}/todos", json={"title": "x"}, headers=outage.auth))


async def test_every_request_succeeds_once_the_database_is_back(outage: Outage) -> None:
    await outage.fill_the_pool()
    outage.proxy.cut()
    assert_unavailable(await outage.read())
    outage.proxy.restore()
    reads = await asyncio.gather(*(outage.read() for _ in range(POOL_SIZE * 2)))
    logins = await asyncio.gather(*(outage.login() for _ in range(3)))
    assert [r.status_code for r in [*reads, *logins]] == [200] * (len(reads) + len(logins))


async def test_a_fast_restart_costs_no_request(outage: Outage) -> None:
    await outage.fill_the_pool()
    outage.proxy.cut()
    outage.proxy.restore()
    first = await outage.read()
    assert first.status_code == 200, first.text
    reads = await asyncio.gather(*(outage.read() for _ in range(POOL_SIZE * 2)))
    assert {r.status_code for r in reads} == {200}
    assert (await outage.login()).status_code == 200


async def test_a_fast_restart_costs_no_create_whose_first_statement_cannot_be_repeated(outage: Outage) -> None:
    """``POST /todos`` checks the session inside its inserts: that statement is the block's
    first and cannot be repeated, so a pooled connection the outage closed must be replaced
    before it is sent (``tests/integration/test_sql_session_first_statement.py`` takes the
    case where the event loop has not read the close yet)."""
    await outage.fill_the_pool()
    outage.proxy.cut()
    await asyncio.sleep(0.05)  # the proxy closes its sockets on the loop's next turns
    outage.proxy.restore()
    created = await outage.api.client.post(f"{API}/todos", json={"title": "after"}, headers=outage.auth)
    assert created.status_code == 201, created.text
    creates = await asyncio.gather(
        *(outage.api.client.post(f"{API}/todos", json={"title": "x"}, headers=outage.auth) for _ in range(POOL_SIZE))
    )
    assert {r.status_code for r in creates} == {201}


async def test_readiness_says_503_while_the_database_is_cut_and_200_after(outage: Outage) -> None:
    await outage.fill_the_pool()
    outage.proxy.cut()
    outage.proxy.restore()
    after_a_restart = await outage.api.client.get("/health/ready")
    outage.proxy.cut()
    down = await outage.api.client.get("/health/ready")
    outage.proxy.restore()
    up = await outage.api.client.get("/health/ready")
    assert (after_a_restart.status_code, after_a_restart.json()["checks"]["database"]) == (200, "ok")
    assert (down.status_code, down.json()["checks"]["database"]) == (503, "down")
    assert (up.status_code, up.json()["checks"]["database"]) == (200, "ok")


async def test_no_request_fails_under_load_through_a_cut_and_a_restore(outage: Outage) -> None:
    await outage.fill_the_pool()
    phase = "before"
    seen: list[tuple[str, int]] = []
    stop = asyncio.Event()

    async def keep_asking(ask: Callable[[], Awaitable[httpx.Response]]) -> None:
        while not stop.is_set():
            started = phase
            response = await ask()
            if response.status_code == 503:
                assert_unavailable(response)
            seen.append((started, response.status_code))

    clients = [asyncio.create_task(keep_asking(ask)) for ask in [outage.read] * 4 + [outage.login] * 2]
    await asyncio.sleep(0.2)
    outage.proxy.cut()
    phase = "cut"
    await asyncio.sleep(0.2)
    outage.proxy.restore()
    phase = "after"
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.gather(*clients)
    counts = Counter(seen)
    assert {status for _, status in counts} <= {200, 503}, counts
    assert counts[("cut", 503)] > 0, counts
    assert counts[("after", 503)] == 0 and counts[("after", 200)] > 0, counts


# The unit of work itself, through the proxy.


@pytest.fixture
async def proxied_engine(pg_url: str) -> AsyncIterator[tuple[AsyncEngine, TcpProxy]]:
    upstream = make_url(pg_url)
    async with tcp_proxy(upstream.host or "127.0.0.1", upstream.port or 5432) as proxy:
        engine = create_engine(upstream.set(port=proxy.port).render_as_string(hide_password=False), pool_size=2)
        try:
            yield engine, proxy
        finally:
            await engine.dispose()


def checked_out(engine: AsyncEngine) -> int:
    """Connections units of work hold (a parked one is back, though the pool counts it out)."""
    return in_use(engine)


@pytest.mark.parametrize("first_read", ["driver", "sqlalchemy"])
async def test_a_held_connection_lost_between_blocks_is_replaced_for_a_read(
    proxied_engine: tuple[AsyncEngine, TcpProxy], first_read: str
) -> None:
    engine, proxy = proxied_engine
    uow = sql_unit(engine, hold_connection=True)
    async with uow:
        assert await uow.users.get(a_user().id) is None
    proxy.cut()
    proxy.restore()
    async with uow:
        if first_read == "driver":  # sent straight to asyncpg
            assert await uow.todos.get(TodoId(uuid4())) is None
        else:
            assert await uow.sessions.get(SessionId(uuid4())) is None
        assert await uow.users.get(a_user().id) is None
    await uow.release()
    assert checked_out(engine) == 0


async def test_a_write_on_a_lost_connection_is_unavailable_and_the_connection_is_dropped(
    proxied_engine: tuple[AsyncEngine, TcpProxy],
) -> None:
    engine, proxy = proxied_engine
    uow = sql_unit(engine, hold_connection=True)
    with pytest.raises(DependencyUnavailableError):
        async with uow:
            await uow.users.add(a_user())
            proxy.cut()
            await uow.users.add(a_user("bob@example.com"))
    assert checked_out(engine) == 0
    proxy.restore()
    async with sql_unit(engine) as fresh:
        assert await fresh.users.get_by_email(Email.parse("ada@example.com")) is None


async def test_release_never_raises_even_with_a_transaction_open_on_a_lost_connection(
    proxied_engine: tuple[AsyncEngine, TcpProxy],
) -> None:
    engine, proxy = proxied_engine
    uow = sql_unit(engine, hold_connection=True)
    session_of_a_cut_request = await uow.__aenter__()
    await session_of_a_cut_request.users.add(a_user())
    proxy.cut()
    await uow.release()  # the request was cancelled before its block ended
    assert checked_out(engine) == 0
    proxy.restore()
    async with sql_unit(engine) as fresh:
        assert await fresh.users.get_by_email(Email.parse("ada@example.com")) is None


async def test_entering_while_the_database_is_cut_is_unavailable(
    proxied_engine: tuple[AsyncEngine, TcpProxy],
) -> None:
    engine, proxy = proxied_engine
    proxy.cut()
    with pytest.raises(DependencyUnavailableError):
        async with sql_unit(engine):
            pass
    assert checked_out(engine) == 0


async def test_constraint_violations_and_bad_sql_are_not_unavailability(pg_engine: AsyncEngine) -> None:
    async with sql_unit(pg_engine) as uow:
        await uow.users.add(a_user())
        await uow.commit()
    with pytest.raises(AlreadyExistsError):
        async with sql_unit(pg_engine) as uow:
            await uow.users.add(a_user())
    async with pg_engine.connect() as connection:
        with pytest.raises(ProgrammingError):
            await SqlSession(connection).read(text("SELEC 1"))


async def test_sqlite_locked_past_its_busy_timeout_is_unavailable(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    event.listen(engine.sync_engine, "connect", _short_busy_timeout)
    holder = sqlite3.connect(make_url(sqlite_url).database or "", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(DependencyUnavailableError):
            async with sql_unit(engine) as uow:
                await uow.users.get(a_user().id)
    finally:
        holder.close()
        await engine.dispose()


def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=50")
    cursor.close()
