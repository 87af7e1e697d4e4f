"""Lockout on ``LogIn``: too many failures lock an e-mail, whether or not it has an account."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from adapters.memory.identity import IdentityTables
from application.errors import RateLimitedError, UnauthenticatedError
from application.identity.login_guard import IN_FLIGHT_TIMEOUT, LoginGuard
from application.identity.ports import LoginAttempt, PasswordHasher
from entrypoints.testing.harness import Harness, overriding
from tests.support.builders import T0, a_harness, with_settings
from tests.support.hashers import RecordingHasher
from tests.support.units import memory_unit
from tests.unit.application.flows import EMAIL, OTHER_EMAIL, PASSWORD, WRONG_PASSWORD, failures, log_in, register

THRESHOLD = 3
LOCK = timedelta(minutes=15)
LOCKOUT = {"lockout_threshold": THRESHOLD, "lockout_window": 15 * 60, "lockout_duration": 15 * 60}


@pytest.fixture
def settings_changes() -> dict[str, Any]:
    return LOCKOUT


async def fail(app: Harness, times: int, email: str = EMAIL) -> None:
    for _ in range(times):
        with pytest.raises(UnauthenticatedError):
            await log_in(app, email=email, password=WRONG_PASSWORD)


async def test_threshold_failures_lock_the_account_even_for_the_right_password(app: Harness) -> None:
    await register(app)
    await fail(app, THRESHOLD)
    with pytest.raises(RateLimitedError) as caught:
        await log_in(app)
    assert caught.value.retry_after == LOCK.total_seconds()
    assert app.database.tables(IdentityTables).sessions == {}


async def test_threshold_failures_lock_an_email_that_has_no_account(app: Harness) -> None:
    await fail(app, THRESHOLD, email="nobody@example.com")
    with pytest.raises(RateLimitedError):
        await log_in(app, email="nobody@example.com")


async def test_fewer_failures_than_the_threshold_do_not_lock(app: Harness) -> None:
    await register(app)
    await fail(app, THRESHOLD - 1)
    await log_in(app)


async def test_failures_in_other_spellings_of_the_email_count_together(app: Harness) -> None:
    await register(app)
    for spelling in ["ADA@example.com", " ada@EXAMPLE.com", "Ada@Example.Com\t"]:
        await fail(app, 1, email=spelling)
    with pytest.raises(RateLimitedError):
        await log_in(app)


async def test_lock_on_one_email_leaves_another_alone(app: Harness) -> None:
    await register(app)
    await register(app, OTHER_EMAIL)
    await fail(app, THRESHOLD)
    await log_in(app, email=OTHER_EMAIL)


async def test_retry_after_counts_down_in_whole_seconds_rounded_up(app: Harness) -> None:
    await register(app)
    await fail(app, THRESHOLD)
    app.clock.advance(timedelta(minutes=10, seconds=1, milliseconds=500))
    with pytest.raises(RateLimitedError) as caught:
        await log_in(app)
    assert caught.value.retry_after == 299  # 298.5 s left


async def test_lock_runs_from_the_failure_that_completed_the_run(app: Harness) -> None:
    await register(app)
    await fail(app, THRESHOLD - 1)
    app.clock.advance(timedelta(minutes=4))
    await fail(app, 1)
    with pytest.raises(RateLimitedError) as caught:
        await log_in(app)
    assert caught.value.retry_after == LOCK.total_seconds()


async def test_lock_lifts_after_the_duration(app: Harness) -> None:
    await register(app)
    await fail(app, THRESHOLD)
    app.clock.advance(LOCK - timedelta(seconds=1))
    with pytest.raises(RateLimitedError) as caught:
        await log_in(app)
    assert caught.value.retry_after == 1
    app.clock.advance(timedelta(seconds=1))
    pair = await log_in(app)
    assert await app.authenticate(pair.access_token)


async def test_attempts_while_locked_are_not_counted_and_do_not_extend_the_lock(app: Harness) -> None:
    await register(app)
    await fail(app, THRESHOLD)
    recorded = list(failures(app)[EMAIL])
    for _ in range(5):
        app.clock.advance(timedelta(minutes=2))
        with pytest.raises(RateLimitedError):
            await log_in(app, password=WRONG_PASSWORD)
    assert failures(app)[EMAIL] == recorded
    app.clock.advance(LOCK - timedelta(minutes=10))
    await log_in(app)


async def test_failures_spread_wider_than_the_window_do_not_lock(app: Harness) -> None:
    await register(app)
    for _ in range(THRESHOLD * 2):
        await fail(app, 1)
        app.clock.advance(timedelta(minutes=8))
    await log_in(app)


async def test_successful_log_in_resets_the_count(app: Harness) -> None:
    await register(app)
    await fail(app, THRESHOLD - 1)
    await log_in(app)
    await fail(app, THRESHOLD - 1)
    await log_in(app)


async def test_failures_are_committed_so_a_fresh_unit_of_work_sees_the_lock(app: Harness) -> None:
    await register(app)
    await fail(app, THRESHOLD)
    assert failures(app) == {EMAIL: [T0] * THRESHOLD}
    async with memory_unit(app.database) as uow:
        assert await uow.login_attempts.attempts_since(EMAIL, T0) == [LoginAttempt(T0)] * THRESHOLD


@with_settings()  # the defaults
async def test_default_rules_lock_after_five_failures_for_fifteen_minutes(app: Harness) -> None:
    await register(app)
    await fail(app, 4)
    app.clock.advance(timedelta(minutes=1))
    await fail(app, 1)
    with pytest.raises(RateLimitedError) as caught:
        await log_in(app, password=PASSWORD)
    assert caught.value.retry_after == 15 * 60


async def test_attempts_in_flight_leave_room_for_no_more_but_lock_nothing(app: Harness) -> None:
    await register(app)
    guard = await app.get(LoginGuard)
    async with memory_unit(app.database) as uow:  # THRESHOLD checks under way (reserved, not ended)
        for _ in range(THRESHOLD):
            await guard.admit(uow.login_attempts, EMAIL)
        await uow.commit()
    with pytest.raises(RateLimitedError) as caught:
        await log_in(app)
    assert caught.value.retry_after == 1  # wait for them to end, not for a lock
    assert failures(app) == {EMAIL: [T0] * THRESHOLD}  # the refused attempt left nothing


async def test_concurrent_logins_with_the_right_password_never_lock_the_account(app: Harness) -> None:
    await register(app)
    results = await asyncio.gather(*(log_in(app) for _ in range(THRESHOLD * 3)), return_exceptions=True)
    refused = [r for r in results if isinstance(r, RateLimitedError)]
    assert all(r.retry_after == 1 for r in refused)
    assert len(results) - len(refused) >= THRESHOLD
    assert failures(app) == {}
    await log_in(app)  # no lock was left behind


async def test_an_attempt_abandoned_in_flight_counts_as_failed_after_a_minute(app: Harness) -> None:
    await register(app)
    guard = await app.get(LoginGuard)
    async with memory_unit(app.database) as uow:  # a process that stopped mid-check left these
        for _ in range(THRESHOLD):
            await guard.admit(uow.login_attempts, EMAIL)
        await uow.commit()
    app.clock.advance(IN_FLIGHT_TIMEOUT)
    with pytest.raises(RateLimitedError) as caught:
        await log_in(app)
    assert caught.value.retry_after == (LOCK - IN_FLIGHT_TIMEOUT).total_seconds()


class _GatedHasher(RecordingHasher):
    """Holds every check of ``password`` until ``gate`` opens."""

    def __init__(self, inner: PasswordHasher, password: str) -> None:
        super().__init__(inner)
        self.gate = asyncio.Event()
        self._held = password

    async def verify(self, password_hash: str | None, password: str) -> bool:
        if password == self._held:
            await self.gate.wait()
        return await super().verify(password_hash, password)


async def test_a_success_forgets_the_failures_before_it_and_keeps_those_after(app: Harness) -> None:
    await register(app)
    await fail(app, 1)  # before the success: forgotten
    hasher = _GatedHasher(await app.get(PasswordHasher), PASSWORD)
    # A second process on the same accounts, whose checks of the right password wait for the gate.
    async with a_harness(overriding(PasswordHasher, hasher), database=app.database, **LOCKOUT) as gated:
        right = asyncio.create_task(log_in(gated))
        await asyncio.sleep(0.01)  # reserved, and waiting for its check
        await fail(app, 1)  # reserved after the success: kept
        hasher.gate.set()
        await right
    assert failures(app) == {EMAIL: [T0]}
    await fail(app, THRESHOLD - 2)
    with pytest.raises(UnauthenticatedError):  # the kept failure still counts: one more before the lock
        await log_in(app, password=WRONG_PASSWORD)
    with pytest.raises(RateLimitedError):
        await log_in(app)
