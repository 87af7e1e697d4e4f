"""The RateLimiter contract, in memory and on real Redis; Redis fails open."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.redis.pipelined import PipelinedRedis
from adapters.redis.rate_limiter import RedisRateLimiter
from adapters.system.clock import FixedClock, SystemClock
from application.shared.rate_limits import Quota, RateLimit, RateLimiter
from tests.support.builders import T0

THREE_PER_MINUTE = RateLimit(limit=3, window=timedelta(minutes=1))


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield InMemoryRateLimiter(SystemClock())
        return
    redis = PipelinedRedis.from_url(request.getfixturevalue("redis_url"))
    yield RedisRateLimiter(redis, prefix=f"portside-test:{uuid.uuid4().hex}:")
    await redis.aclose()


def _prefix() -> str:
    return f"portside-test:{uuid.uuid4().hex}:"


async def _take(limiter: RateLimiter, key: str, rate: RateLimit) -> Quota:
    quota = await limiter.take(key, rate)
    assert quota is not None
    return quota


async def test_hits_within_the_limit_pass_and_the_next_waits_for_the_window(limiter: RateLimiter) -> None:
    assert [await limiter.hit("a", THREE_PER_MINUTE) for _ in range(3)] == [None, None, None]
    retry_after = await limiter.hit("a", THREE_PER_MINUTE)
    assert retry_after is not None and 1 <= retry_after <= 60


async def test_remaining_counts_down_to_zero_and_the_hit_past_the_limit_is_refused(limiter: RateLimiter) -> None:
    quotas = [await _take(limiter, "a", THREE_PER_MINUTE) for _ in range(5)]
    assert [q.remaining for q in quotas] == [2, 1, 0, 0, 0]
    assert [q.allowed for q in quotas] == [True, True, True, False, False]
    assert {q.limit for q in quotas} == {3}
    assert all(1 <= q.reset_after <= 60 for q in quotas)


async def test_keys_are_counted_apart(limiter: RateLimiter) -> None:
    for _ in range(4):
        await limiter.hit("a", THREE_PER_MINUTE)
    assert await limiter.hit("b", THREE_PER_MINUTE) is None
    assert (await _take(limiter, "b", THREE_PER_MINUTE)).remaining == 1


async def test_parallel_hits_never_let_more_than_the_limit_through(limiter: RateLimiter) -> None:
    rate = RateLimit(limit=10, window=timedelta(minutes=1))
    quotas = await asyncio.gather(*(_take(limiter, "busy", rate) for _ in range(60)))
    allowed = [q for q in quotas if q.allowed]
    assert len(allowed) == 10
    assert sorted(q.remaining for q in allowed) == list(range(10))  # each hit counted exactly once


async def test_the_reset_counts_down_with_the_clock_and_a_new_window_starts_from_zero() -> None:
    clock = FixedClock(T0)
    limiter = InMemoryRateLimiter(clock)
    assert (await limiter.take("a", THREE_PER_MINUTE)).reset_after == 60
    clock.advance(timedelta(seconds=15, milliseconds=500))
    assert (await limiter.take("a", THREE_PER_MINUTE)).reset_after == 45  # 44.5 s, rounded up
    clock.advance(timedelta(seconds=44))
    assert (await limiter.take("a", THREE_PER_MINUTE)).reset_after == 1  # the last half second
    assert not (await limiter.take("a", THREE_PER_MINUTE)).allowed
    clock.advance(timedelta(milliseconds=500))  # the window's end
    assert await limiter.take("a", THREE_PER_MINUTE) == Quota(limit=3, remaining=2, reset_after=60, allowed=True)


async def test_redis_says_the_seconds_left_in_the_window_rounded_up(redis: Redis, pipelined: PipelinedRedis) -> None:
    prefix = _prefix()
    limiter = RedisRateLimiter(pipelined, prefix=prefix)
    first = await _take(limiter, "a", THREE_PER_MINUTE)
    assert 59 <= first.reset_after <= 60
    await redis.pexpire(prefix + "a", 1_500)
    assert (await _take(limiter, "a", THREE_PER_MINUTE)).reset_after == 2


async def test_redis_starts_a_new_window_once_the_last_one_expired(redis: Redis, pipelined: PipelinedRedis) -> None:
    limiter = RedisRateLimiter(pipelined, prefix=_prefix())
    rate = RateLimit(limit=1, window=timedelta(milliseconds=200))
    assert (await _take(limiter, "a", rate)).allowed
    assert not (await _take(limiter, "a", rate)).allowed
    for _ in range(100):  # bounded wait: the key expires after 200 ms
        await asyncio.sleep(0.05)
        quota = await _take(limiter, "a", rate)
        if quota.allowed:
            break
    assert quota == Quota(limit=1, remaining=0, reset_after=1, allowed=True)


async def test_a_redis_counter_found_without_an_expiry_gets_one(redis: Redis, pipelined: PipelinedRedis) -> None:
    prefix = _prefix()
    await redis.set(prefix + "a", 7)
    quota = await _take(RedisRateLimiter(pipelined, prefix=prefix), "a", THREE_PER_MINUTE)
    assert not quota.allowed and 59 <= quota.reset_after <= 60
    assert 0 < await redis.pttl(prefix + "a") <= 60_000


async def test_redis_counters_are_shared_between_clients(redis_url: str) -> None:
    prefix = _prefix()
    first, second = PipelinedRedis.from_url(redis_url), PipelinedRedis.from_url(redis_url)
    try:
        one, two = RedisRateLimiter(first, prefix=prefix), RedisRateLimiter(second, prefix=prefix)
        results = [await (one if n % 2 else two).hit("shared", THREE_PER_MINUTE) for n in range(4)]
        assert results[:3] == [None, None, None] and results[3] is not None
        assert 59_000 <= await first.execute("PTTL", prefix + "shared") <= 60_000
        rate = RateLimit(limit=10, window=timedelta(minutes=1))
        quotas = await asyncio.gather(*(_take(one if n % 2 else two, "both", rate) for n in range(40)))
        assert sum(q.allowed for q in quotas) == 10
    finally:
        await first.aclose()
        await second.aclose()


async def test_redis_that_does_not_answer_lets_hits_through_and_counts_them() -> None:
    redis = PipelinedRedis.from_url("redis://127.0.0.1:1/0", connect_timeout=0.2)  # nothing listens on port 1
    limiter = RedisRateLimiter(redis)
    counted_before = REGISTRY.get_sample_value("portside_rate_limit_failed_open_total") or 0.0
    assert [await limiter.hit("a", RateLimit(1, timedelta(minutes=1))) for _ in range(3)] == [None] * 3
    assert await limiter.take("a", RateLimit(1, timedelta(minutes=1))) is None  # no quota to tell
    assert limiter.failed_open == 4
    assert REGISTRY.get_sample_value("portside_rate_limit_failed_open_total") == counted_before + 4
    await redis.aclose()


async def test_a_redis_that_hangs_costs_a_hit_the_timeout_once_then_nothing_for_the_cooldown() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        await reader.read()  # accepts, reads, never replies
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    redis = PipelinedRedis.from_url(f"redis://127.0.0.1:{port}/0")
    limiter = RedisRateLimiter(redis, timeout=0.2, cooldown=30)
    rate = RateLimit(1, timedelta(minutes=1))
    try:
        async with asyncio.timeout(2):  # the limiter's timeout decides, not a socket timeout
            assert await limiter.take("a", rate) is None
            # Within the cooldown no hit waits on Redis again: 50 hits well inside the bound.
            assert [await limiter.take("a", rate) for _ in range(50)] == [None] * 50
        assert limiter.failed_open == 51
    finally:
        await redis.aclose()
        server.close()
        for writer in accepted:  # its handler may not have seen the end yet
            writer.close()


# Steps: a hit on a key; the clock moving on by some milliseconds; or the clock moving to a
# millisecond before, at or after the end of a key's window, where an off-by-one would show.
_Step = tuple[str, str, int]
_steps = st.lists(
    st.one_of(
        st.tuples(st.just("hit"), st.sampled_from("aab"), st.just(0)),
        st.tuples(st.just("hit"), st.sampled_from("aab"), st.just(0)),
        st.tuples(st.just("wait"), st.just(""), st.integers(0, 150_000)),
        st.tuples(st.just("to_end"), st.sampled_from("aab"), st.sampled_from([-1, 0, 0, 1])),
    ),
    max_size=60,
)


@given(
    limit=st.integers(1, 5),
    window_ms=st.one_of(st.sampled_from([1, 1_000, 1_500, 60_000]), st.integers(1, 120_000)),
    steps=_steps,
)
def test_the_memory_limiter_agrees_with_a_model_of_fixed_windows(
    limit: int, window_ms: int, steps: list[_Step]
) -> None:
    """Model: a key's window opens at its first hit after the previous window closed, and
    lasts ``window_ms``; the n-th hit in it is allowed while n <= limit."""
    rate = RateLimit(limit=limit, window=timedelta(milliseconds=window_ms))
    clock = FixedClock(T0)
    limiter = InMemoryRateLimiter(clock)
    now = 0
    opened: dict[str, int] = {}
    hits: dict[str, int] = {}
    with asyncio.Runner() as runner:
        for action, key, amount in steps:
            if action == "to_end":
                amount = opened.get(key, now) + window_ms + amount - now
            if action != "hit":
                amount = max(0, amount)
                clock.advance(timedelta(milliseconds=amount))
                now += amount
                continue
            if key not in opened or now >= opened[key] + window_ms:
                opened[key], hits[key] = now, 0
            hits[key] += 1
            quota = runner.run(limiter.take(key, rate))
            assert quota == Quota(
                limit=limit,
                remaining=max(0, limit - hits[key]),
                reset_after=max(1, math.ceil((opened[key] + window_ms - now) / 1000)),
                allowed=hits[key] <= limit,
            ), key
            assert 1 <= quota.reset_after <= math.ceil(window_ms / 1000)
