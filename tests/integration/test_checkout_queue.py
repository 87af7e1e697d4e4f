"""Units of work get pooled connections first come, first served: one that arrives while
others wait queues behind them, even in the instant a connection comes back (SQLAlchemy's
own queue would let it take that connection ahead of the waiter it woke)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.checkout import CheckoutQueue
from adapters.sql.engine import create_engine
from tests.support.units import sql_unit


@pytest.fixture
async def one_connection(pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(pg_url, pool_size=1)
    yield engine
    await engine.dispose()


async def test_waiters_get_the_connection_in_arrival_order_and_newcomers_queue(one_connection: AsyncEngine) -> None:
    order: list[str] = []
    holder = sql_unit(one_connection, hold_connection=True)
    await holder.__aenter__()
    await holder.__aexit__(None, None, None)  # a read-only block: it keeps the connection

    async def user(name: str) -> None:
        uow = sql_unit(one_connection, hold_connection=True)
        async with uow:
            order.append(name)
            await asyncio.sleep(0.01)
        await uow.release()

    waiters = []
    for name in ("first", "second", "third"):
        waiters.append(asyncio.create_task(user(name)))
        await asyncio.sleep(0.01)  # each is waiting before the next arrives
    released = asyncio.create_task(holder.release())
    newcomer = asyncio.create_task(user("newcomer"))  # arrives as the connection comes back
    await asyncio.gather(released, newcomer, *waiters)

    assert order == ["first", "second", "third", "newcomer"]


async def test_a_checkout_waits_at_most_the_pools_timeout() -> None:
    queue = CheckoutQueue(1, timeout=0.05)
    await queue.enter()

    with pytest.raises(sa_exc.TimeoutError):
        await queue.enter()
    queue.leave()
    await queue.enter()  # the place that came free is taken, nothing leaked by the timeout
