"""The RateLimiter contract, in memory and on real Redis; Redis fails open."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.redis.rate_limiter import RedisRateLimiter
from adapters.system.clock import FixedClock, SystemClock
from application.shared.rate_limits import RateLimit, RateLimiter
from tests.support.builders import T0

THREE_PER_MINUTE = RateLimit(limit=3, window=timedelta(minutes=1))


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield InMemoryRateLimiter(SystemClock())
        return
    redis = Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisRateLimiter(redis, prefix=f"portside-test:{uuid.uuid4().hex}:")
    await redis.aclose()


async def test_hits_within_the_limit_pass_and_the_next_waits_for_the_window(limiter: RateLimiter) -> None:
    assert [await limiter.hit("a", THREE_PER_MINUTE) for _ in range(3)] == [None, None, None]
    retry_after = await limiter.hit("a", THREE_PER_MINUTE)
    assert retry_after is not None and 1 <= retry_after <= 60


async def test_keys_are_counted_apart(limiter: RateLimiter) -> None:
    for _ in range(4):
        await limiter.hit("a", THREE_PER_MINUTE)
    assert await limiter.hit("b", THREE_PER_MINUTE) is None


async def test_a_new_window_starts_from_zero() -> None:
    clock = FixedClock(T0)
    limiter = InMemoryRateLimiter(clock)
    for _ in range(4):
        await limiter.hit("a", THREE_PER_MINUTE)
    clock.advance(timedelta(seconds=61))
    assert await limiter.hit("a", THREE_PER_MINUTE) is None


async def test_redis_counters_are_shared_between_clients(redis_url: str) -> None:
    prefix = f"portside-test:{uuid.uuid4().hex}:"
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        one, two = RedisRateLimiter(first, prefix=prefix), RedisRateLimiter(second, prefix=prefix)
        results = [await (one if n % 2 else two).hit("shared", THREE_PER_MINUTE) for n in range(4)]
        assert results[:3] == [None, None, None] and results[3] is not None
        assert 59_000 <= await first.pttl(prefix + "shared") <= 60_000
    finally:
        await first.aclose()
        await second.aclose()


async def test_redis_that_does_not_answer_lets_hits_through() -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    limiter = RedisRateLimiter(redis)
    assert [await limiter.hit("a", RateLimit(1, timedelta(minutes=1))) for _ in range(3)] == [None] * 3
    assert limiter.failed_open == 3
    await redis.aclose()
