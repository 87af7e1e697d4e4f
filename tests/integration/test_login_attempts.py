"""The lockout's store: attempts reserved in order, cleared up to a success, serialized per e-mail."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.conftest import UowFactory
from tests.support.builders import T0
from tests.support.units import sql_unit

ADA = "ada@example.com"


async def reserved(new_uow: UowFactory, email: str, *minutes: int) -> list[int]:
    async with new_uow() as uow:
        numbers = [await uow.login_attempts.reserve(email, T0 + timedelta(minutes=m)) for m in minutes]
        await uow.commit()
    return numbers


async def failures(new_uow: UowFactory, email: str) -> list[timedelta]:
    """When the e-mail's attempts (failed or in flight) were made, relative to T0."""
    async with new_uow() as uow:
        return sorted(a.at - T0 for a in await uow.login_attempts.attempts_since(email, T0))


async def test_reserved_attempts_count_as_failures_per_email(new_uow: UowFactory) -> None:
    await reserved(new_uow, ADA, 0, 5, 10)
    await reserved(new_uow, "bob@example.com", 0)
    async with new_uow() as uow:
        recent = await uow.login_attempts.attempts_since(ADA, T0 + timedelta(minutes=5))
    assert sorted(a.at for a in recent) == [T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)]
    assert await failures(new_uow, "bob@example.com") == [timedelta(0)]


async def test_a_reserved_attempt_is_in_flight_until_it_fails(new_uow: UowFactory) -> None:
    first, _ = await reserved(new_uow, ADA, 1, 2)
    async with new_uow() as uow:
        await uow.login_attempts.fail(ADA, first)
        await uow.commit()
    async with new_uow() as uow:
        attempts = sorted(await uow.login_attempts.attempts_since(ADA, T0), key=lambda a: a.at)
    assert [(a.at - T0, a.in_flight) for a in attempts] == [(timedelta(minutes=1), False), (timedelta(minutes=2), True)]


async def test_attempt_numbers_grow_across_emails_and_transactions(new_uow: UowFactory) -> None:
    first = await reserved(new_uow, ADA, 0, 0)
    second = await reserved(new_uow, "bob@example.com", 0)
    assert first[0] < first[1] < second[0]


async def test_clear_through_forgets_the_failures_up_to_the_attempt_and_keeps_later_ones(new_uow: UowFactory) -> None:
    earlier, success, _ = await reserved(new_uow, ADA, 1, 2, 3)
    await reserved(new_uow, "bob@example.com", 1)
    async with new_uow() as uow:
        await uow.login_attempts.fail(ADA, earlier)
        await uow.login_attempts.clear_through(ADA, success)
        await uow.commit()
    assert await failures(new_uow, ADA) == [timedelta(minutes=3)]
    assert await failures(new_uow, "bob@example.com") == [timedelta(minutes=1)]


async def test_withdraw_forgets_exactly_one_attempt(new_uow: UowFactory) -> None:
    _, shed, _ = await reserved(new_uow, ADA, 1, 2, 3)
    async with new_uow() as uow:
        await uow.login_attempts.withdraw(ADA, shed)
        await uow.commit()
    assert await failures(new_uow, ADA) == [timedelta(minutes=1), timedelta(minutes=3)]


async def test_a_reservation_that_is_not_committed_leaves_nothing(new_uow: UowFactory) -> None:
    async with new_uow() as uow:
        await uow.login_attempts.reserve(ADA, T0)
    assert await failures(new_uow, ADA) == []


async def test_lock_makes_a_second_unit_of_work_wait_until_the_first_ends(new_uow: UowFactory) -> None:
    order: list[str] = []
    first_holds = asyncio.Event()

    async def first() -> None:
        async with new_uow() as uow:
            await uow.login_attempts.lock(ADA)
            first_holds.set()
            await asyncio.sleep(0.2)
            order.append("first reserves")
            await uow.login_attempts.reserve(ADA, T0)
            await uow.commit()

    async def second() -> None:
        await first_holds.wait()
        async with new_uow() as uow:
            await uow.login_attempts.lock(ADA)
            order.append(f"second sees {len(await uow.login_attempts.attempts_since(ADA, T0))}")
            await uow.commit()

    await asyncio.gather(first(), second())
    assert order == ["first reserves", "second sees 1"]


async def test_clear_through_keeps_earlier_attempts_still_in_flight(new_uow: UowFactory) -> None:
    failed, in_flight, success, later = await reserved(new_uow, ADA, 1, 2, 3, 4)
    async with new_uow() as uow:
        await uow.login_attempts.fail(ADA, failed)
        await uow.login_attempts.fail(ADA, later)
        await uow.login_attempts.clear_through(ADA, success)
        await uow.commit()
    # The check still running may yet fail: it must still be there to be failed.
    assert await failures(new_uow, ADA) == [timedelta(minutes=2), timedelta(minutes=4)]
    async with new_uow() as uow:
        await uow.login_attempts.fail(ADA, in_flight)
        await uow.commit()
    async with new_uow() as uow:
        attempts = await uow.login_attempts.attempts_since(ADA, T0)
    assert sorted((a.at - T0, a.in_flight) for a in attempts) == [
        (timedelta(minutes=2), False),
        (timedelta(minutes=4), False),
    ]


async def test_lock_gives_up_after_a_short_wait_when_another_transaction_holds_it(pg_engine: AsyncEngine) -> None:
    holder = sql_unit(pg_engine)
    async with holder as uow:
        assert await uow.login_attempts.lock(ADA)
        started = time.monotonic()
        async with sql_unit(pg_engine) as waiter:
            assert not await waiter.login_attempts.lock(ADA)
        assert 0.5 < time.monotonic() - started < 5
    async with sql_unit(pg_engine) as uow:  # released with the holder's transaction
        assert await uow.login_attempts.lock(ADA)
