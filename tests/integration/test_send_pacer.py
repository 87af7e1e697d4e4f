"""The SendPacer contract, in memory and on real Redis: slots 1/per_second apart overall and per_chat_interval
apart per chat, one schedule for every process, and no unpaced sends when Redis is down."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from adapters.memory.send_pacer import InMemorySendPacer
from adapters.redis.send_pacer import RedisSendPacer
from application.errors import DependencyUnavailableError
from application.telegram.pacing import TELEGRAM_LIMITS, SendLimits, SendPacer
from tests.support.fake_telegram import max_in_window, min_gap
from tests.support.tcp_proxy import tcp_proxy

SPACING = 1 / TELEGRAM_LIMITS.per_second
TOLERANCE = 0.01


@pytest.fixture(params=["memory", "redis"])
async def pacer(request: pytest.FixtureRequest) -> AsyncIterator[SendPacer]:
    if request.param == "memory":
        yield InMemorySendPacer()
        return
    redis = Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisSendPacer(redis, prefix=f"portside-test:{uuid.uuid4().hex}:")
    await redis.aclose()


async def _book(pacer: SendPacer, chat_id: int) -> float:
    """The booked slot on this process's monotonic clock (the call's midpoint plus the wait)."""
    before = time.monotonic()
    wait = await pacer.reserve(chat_id)
    return (before + time.monotonic()) / 2 + wait


async def test_slots_are_spaced_overall_and_per_chat(pacer: SendPacer) -> None:
    slots = [await _book(pacer, chat) for chat in (1, 2, 3, 1, 4)]
    offsets = [slot - slots[0] for slot in slots]
    again = TELEGRAM_LIMITS.per_chat_interval
    expected = [0, SPACING, 2 * SPACING, again, again + SPACING]  # chat 1 again an interval later; 4 behind it
    assert offsets == pytest.approx(expected, abs=TOLERANCE)


async def test_the_first_slot_is_now(pacer: SendPacer) -> None:
    assert await pacer.reserve(1) == pytest.approx(0, abs=TOLERANCE)
    assert 0 < await pacer.reserve(1) <= TELEGRAM_LIMITS.per_chat_interval


async def test_a_burst_books_thirty_a_second_and_one_per_chat_per_second(pacer: SendPacer) -> None:
    chats = [n % 20 for n in range(60)]
    slots = [await _book(pacer, chat) for chat in chats]
    assert max_in_window(slots, 1.0 - TOLERANCE) <= TELEGRAM_LIMITS.per_second
    assert min(b - a for a, b in zip(sorted(slots), sorted(slots)[1:], strict=False)) >= SPACING - TOLERANCE
    by_chat = defaultdict(list)
    for chat, slot in zip(chats, slots, strict=True):
        by_chat[chat].append(slot)
    assert min_gap(list(by_chat.values())) >= 1.0 - TOLERANCE


async def test_the_memory_pacer_follows_its_clock_and_forgets_old_chats() -> None:
    now = [100.0]
    pacer = InMemorySendPacer(lambda: now[0], SendLimits(per_second=10, per_chat_interval=2.0))
    assert await pacer.reserve(1) == 0
    assert await pacer.reserve(1) == pytest.approx(2.0)
    now[0] += 60
    assert await pacer.reserve(1) == 0
    for chat in range(5000):
        now[0] += 1
        await pacer.reserve(chat)
    assert len(pacer._next_chat) <= 1024 + 10  # pruned, not one entry per chat ever seen


async def test_two_processes_share_one_schedule(redis_url: str) -> None:
    prefix = f"portside-test:{uuid.uuid4().hex}:"
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        pacers = [RedisSendPacer(first, prefix=prefix), RedisSendPacer(second, prefix=prefix)]
        chats = [n % 25 for n in range(90)]
        # Open the connections first, so the measured calls are the scripts alone.
        await asyncio.gather(*(client.ping() for client in (first, second) for _ in range(45)))
        slots = await asyncio.gather(*(_book(pacers[n % 2], chat) for n, chat in enumerate(chats)))
        assert max_in_window(slots, 1.0 - TOLERANCE) <= TELEGRAM_LIMITS.per_second
        assert max_in_window(slots, 3.0 - TOLERANCE) <= 3 * TELEGRAM_LIMITS.per_second
        by_chat = defaultdict(list)
        for chat, slot in zip(chats, slots, strict=True):
            by_chat[chat].append(slot)
        assert min_gap(list(by_chat.values())) >= 1.0 - TOLERANCE
        # Booked in arrival order, a chat's second send can hold the line for a moment; no more.
        assert 89 * SPACING - TOLERANCE <= max(slots) - min(slots) < 89 * SPACING + 2
        ttl = await first.pttl(f"{prefix}global")
        assert 0 < ttl <= (max(slots) - min(slots) + SPACING + 1.1) * 1000
        assert 0 < await first.pttl(f"{prefix}chat:0") <= (max(slots) - min(slots) + 1 + 1.1) * 1000
    finally:
        await first.aclose()
        await second.aclose()


async def test_redis_that_refuses_connections_is_unavailable_at_once() -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    started = time.monotonic()
    with pytest.raises(DependencyUnavailableError) as raised:
        await RedisSendPacer(redis).reserve(1)
    assert raised.value.dependency == "redis" and time.monotonic() - started < 1
    await redis.aclose()


async def test_redis_that_does_not_answer_is_unavailable_within_a_second(redis_url: str) -> None:
    host, port = redis_url.removeprefix("redis://").split("/")[0].split(":")
    async with tcp_proxy(host, int(port)) as proxy:
        proxy.blackhole()
        redis = Redis(host="127.0.0.1", port=proxy.port)
        started = time.monotonic()
        with pytest.raises(DependencyUnavailableError):
            await RedisSendPacer(redis).reserve(1)
        assert time.monotonic() - started < 1.5
        await redis.aclose()
