"""PostgreSQL connections that units of work give back are parked for the next one
(``adapters.sql.parking``, owned by the pool's checkout queue): reused without a pool
checkout, never handed out dead or mid-transaction, bounded by the pool with the
connections in use, and closed when the engine is disposed of."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import event, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.prometheus.pool import observe_pool
from adapters.sql.checkout import checkout_queue, in_use, lent_connection, on_take
from adapters.sql.connections import pooled_now
from adapters.sql.engine import create_engine
from adapters.sql.health import SqlHealthProbe
from adapters.sql.outbox import all_events, write_events
from adapters.sql.parking import ParkedConnections
from adapters.sql.statements import Query
from adapters.sql.tables import users
from application.shared.events import Envelope
from tests.integration.test_identity_repositories import a_user
from tests.integration.test_sql_session_held_writes import a_todo
from tests.support.units import sql_unit

POOL_SIZE = 2


@pytest.fixture
async def engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(pg_url, pool_size=POOL_SIZE)
    yield engine
    await engine.dispose()


def pool_checkouts(engine: AsyncEngine) -> list[int]:
    """A list that grows by one on every checkout from ``engine``'s pool."""
    seen: list[int] = []
    event.listen(engine.sync_engine, "checkout", lambda *_: seen.append(1))
    return seen


async def driver_of_a_read(engine: AsyncEngine) -> Any:
    """The asyncpg connection a read-only unit of work ran on."""
    async with sql_unit(engine) as uow:
        assert await uow.users.get(a_user().id) is None
        return pooled_now(uow.session.connection).driver_connection


def an_envelope() -> Envelope:
    return Envelope(
        event_id=uuid4(),
        name="user.registered",
        occurred_at=datetime.now(UTC),
        aggregate_type="user",
        aggregate_id="u1",
        actor_id=None,
        request_id=None,
        payload={},
    )


def parked(engine: AsyncEngine) -> ParkedConnections:
    queue = checkout_queue(engine)
    assert queue is not None and queue.parked is not None
    return queue.parked


async def test_the_next_unit_of_work_gets_the_connection_back_without_a_pool_checkout(engine: AsyncEngine) -> None:
    first = await driver_of_a_read(engine)
    checkouts = pool_checkouts(engine)

    again = [await driver_of_a_read(engine) for _ in range(3)]

    assert again == [first] * 3
    assert checkouts == []
    assert in_use(engine) == 0
    assert len(parked(engine)) == 1


async def test_a_unit_of_work_that_committed_parks_its_connection_too(engine: AsyncEngine) -> None:
    async with sql_unit(engine) as uow:
        await uow.users.add(a_user())
        await uow.commit()
        driver = pooled_now(uow.session.connection).driver_connection
    assert not driver.is_in_transaction()
    assert await driver_of_a_read(engine) is driver


async def test_a_connection_the_server_ended_while_parked_is_replaced(engine: AsyncEngine, pg_url: str) -> None:
    dead = await driver_of_a_read(engine)
    admin = await asyncpg.connect(make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", dead.get_server_pid())
    finally:
        await admin.close()
    for _ in range(200):  # the event loop reads the server's goodbye
        if dead.is_closed():
            break
        await asyncio.sleep(0.01)
    assert dead.is_closed()
    checkouts = pool_checkouts(engine)

    assert await parked(engine).take() is None  # dropped, not handed out
    fresh = await driver_of_a_read(engine)

    assert fresh is not dead
    assert checkouts == [1]  # the pool replaced it
    assert in_use(engine) == 0


async def test_a_connection_in_a_transaction_is_not_parked(engine: AsyncEngine) -> None:
    connection = await engine.connect()
    driver = pooled_now(connection).driver_connection
    await driver.execute("BEGIN")
    try:
        assert parked(engine).park(connection) is False
    finally:
        await driver.execute("ROLLBACK")
        await connection.close()


async def test_a_connection_sqlalchemy_began_a_transaction_on_is_not_parked(engine: AsyncEngine) -> None:
    connection = await engine.connect()
    await connection.execute(text("SELECT 1"))  # SQLAlchemy begins (no BEGIN sent in autocommit)
    assert connection.in_transaction()
    assert parked(engine).park(connection) is False
    await connection.close()


async def test_a_connection_not_in_autocommit_mode_is_not_parked(engine: AsyncEngine) -> None:
    connection = await engine.execution_options(isolation_level="READ COMMITTED").connect()
    assert parked(engine).park(connection) is False  # the pool resets the isolation level at checkin
    await connection.close()


async def test_a_connection_parked_longer_than_the_recycle_age_goes_back_to_the_pool(engine: AsyncEngine) -> None:
    parking = ParkedConnections(max_age=0.05)
    connection = await engine.connect()
    assert parking.park(connection) is True
    assert await parking.take() is connection
    await asyncio.sleep(0.06)

    assert parking.park(connection) is False  # the caller returns it; the pool recycles it by age
    assert len(parking) == 0
    await connection.close()


async def test_units_of_work_never_hold_and_park_more_than_the_pool(engine: AsyncEngine) -> None:
    most = 0

    async def read() -> None:
        nonlocal most
        async with sql_unit(engine) as uow:
            assert await uow.users.get(a_user().id) is None
            most = max(most, engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]
            await asyncio.sleep(0.01)

    await asyncio.gather(*(read() for _ in range(POOL_SIZE * 5)))

    assert most == POOL_SIZE
    assert len(parked(engine)) == POOL_SIZE
    assert in_use(engine) == 0


async def test_the_readiness_probe_is_served_when_every_connection_is_parked(engine: AsyncEngine) -> None:
    async def read() -> None:
        async with sql_unit(engine) as uow:
            assert await uow.users.get(a_user().id) is None
            await asyncio.sleep(0.01)

    await asyncio.gather(*(read() for _ in range(POOL_SIZE)))
    assert len(parked(engine)) == POOL_SIZE  # the pool itself has none left

    async with asyncio.timeout(1):
        assert await SqlHealthProbe(engine, timeout=1).check() is True


async def test_disposing_of_the_engine_closes_the_parked_connections(pg_url: str) -> None:
    engine = create_engine(pg_url, pool_size=POOL_SIZE)
    driver = await driver_of_a_read(engine)
    assert not driver.is_closed()

    await engine.dispose()

    assert driver.is_closed()
    assert await driver_of_a_read(engine) is not driver  # a new pool, a new queue
    await engine.dispose()


async def test_a_write_cut_short_never_leaves_its_connection_to_a_later_commit(pg_url: str) -> None:
    """A unit of work cancelled while its BEGIN or write is on its way: the server's answer
    may arrive after the block ended, and would put the next user of the connection inside a
    transaction that its one-statement commit does not end (the commit would be lost). The
    connection is discarded instead; every later commit holds."""
    engine = create_engine(pg_url, pool_size=1)
    never = Query(update(users).where(users.c.email == "nobody@example.com").values(email="x@example.com"))
    committed: list[UUID] = []
    try:
        for turns in range(45):

            async def writer() -> None:
                async with sql_unit(engine) as uow:
                    await uow.session.write(never)
                    await uow.commit()

            task = asyncio.create_task(writer())
            for _ in range(turns % 15):  # cancelled at a different point each time
                await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.002)  # the server's answer to a cut-short statement arrives
            event = an_envelope()
            async with sql_unit(engine) as uow:
                await write_events(uow.session, [event])  # a commit of one statement
                await uow.commit()
            committed.append(event.event_id)
        stored = {envelope.event_id for envelope in await all_events(engine)}
    finally:
        await engine.dispose()

    assert [event_id for event_id in committed if event_id not in stored] == []


async def test_lent_connection_waits_at_the_front_of_the_queue(engine: AsyncEngine) -> None:
    holders = [sql_unit(engine, hold_connection=True) for _ in range(POOL_SIZE)]
    for holder in holders:  # every place taken
        async with holder:
            assert await holder.users.get(a_user().id) is None
    order: list[str] = []

    async def unit(name: str) -> None:
        async with sql_unit(engine) as uow:
            assert await uow.users.get(a_user().id) is None
            order.append(name)

    async def probe() -> None:
        async with lent_connection(engine):
            order.append("probe")

    queued = [asyncio.create_task(unit(f"request {i}")) for i in range(3)]
    await asyncio.sleep(0.01)
    lent = asyncio.create_task(probe())  # arrives last
    await asyncio.sleep(0.01)
    assert order == []
    for holder in holders:
        await holder.release()
    async with asyncio.timeout(5):
        await asyncio.gather(lent, *queued)

    assert order[0] == "probe"
    assert sorted(order[1:]) == ["request 0", "request 1", "request 2"]
    assert in_use(engine) == 0


async def test_a_block_cut_short_before_any_write_was_sent_keeps_its_connection(engine: AsyncEngine) -> None:
    with pytest.raises(asyncio.CancelledError):
        async with sql_unit(engine) as uow:
            await uow.todos.add(a_todo(a_user().id))  # held for the commit: nothing sent
            raise asyncio.CancelledError
    assert len(parked(engine)) == 1
    assert in_use(engine) == 0


async def test_a_unit_of_work_that_outlives_the_engine_parks_nothing(pg_url: str) -> None:
    engine = create_engine(pg_url, pool_size=POOL_SIZE)
    uow = sql_unit(engine, hold_connection=True)
    async with uow:
        assert await uow.users.get(a_user().id) is None
        driver = pooled_now(uow.session.connection).driver_connection
    queue = checkout_queue(engine)
    assert queue is not None and queue.parked is not None

    await engine.dispose()
    await uow.release()

    assert len(queue.parked) == 0
    assert driver.is_closed()  # closed for good: the old pool would never close it
    await engine.dispose()


def in_use_gauge() -> float:
    return float(REGISTRY.get_sample_value("portside_db_pool_connections", {"state": "in_use"}) or 0.0)


async def test_parking_moves_the_in_use_gauge_only_for_an_observed_engine(pg_url: str) -> None:
    unobserved, observed_engine = create_engine(pg_url, pool_size=1), create_engine(pg_url, pool_size=1)
    observe_pool(observed_engine)
    try:
        before = in_use_gauge()
        await driver_of_a_read(unobserved)  # parked, and never counted as in use
        assert in_use_gauge() == before

        async with sql_unit(observed_engine) as uow:
            assert await uow.users.get(a_user().id) is None
            assert in_use_gauge() == before + 1
        assert in_use_gauge() == before  # parked: checked out of the pool, but not in use
    finally:
        await unobserved.dispose()
        await observed_engine.dispose()
    assert in_use_gauge() == before


async def test_on_take_sees_every_connection_taken_parked_or_from_the_pool(engine: AsyncEngine) -> None:
    taken: list[Any] = []
    on_take(engine, lambda connection: taken.append(pooled_now(connection).driver_connection))
    first = await driver_of_a_read(engine)  # from the pool
    second = await driver_of_a_read(engine)  # parked
    async with lent_connection(engine):
        pass
    assert taken == [first, second, first] and first is second


async def test_a_failing_on_take_callback_costs_the_taker_its_connection_and_nothing_else(engine: AsyncEngine) -> None:
    parked = await driver_of_a_read(engine)

    def refuse(_: Any) -> None:
        raise RuntimeError("instrumentation failed")

    on_take(engine, refuse)
    with pytest.raises(RuntimeError, match="instrumentation failed"):
        await driver_of_a_read(engine)
    assert parked.is_closed() and in_use(engine) == 0
    queue = checkout_queue(engine)
    assert queue is not None
    for _ in range(POOL_SIZE):  # every place is free: the failed taker gave its place up
        await asyncio.wait_for(queue.enter(), timeout=1)
    for _ in range(POOL_SIZE):
        queue.leave()
