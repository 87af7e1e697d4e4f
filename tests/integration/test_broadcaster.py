"""The ``Broadcaster`` contract on the in-process fan-out and on Redis pub/sub: order, every
listener, nothing kept for latecomers, exact round trips; and on Redis, an unreachable or
silent server and a subscription whose connection is killed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest
from redis.asyncio import Redis

from adapters.memory.broadcaster import InProcessBroadcaster
from adapters.redis.broadcaster import RedisBroadcaster
from adapters.redis.client import create_redis
from application.errors import DependencyUnavailableError
from application.shared.realtime import Audience, Broadcaster, Gap, Notice, Revocation, Signal

WAIT = 5.0
"""The longest any single expectation may take."""
PROBE = "test.probe"


def a_notice(n: int) -> Notice:
    return Notice(type="test.notice", data={"n": n}, audience=Audience.EVERYONE)


class Listener:
    """One ``listen()`` iterator drained into a queue by a task of its own. Probes (what
    ``ready`` publishes to learn that the subscription is live) are kept out of the queue."""

    def __init__(self, broadcaster: Broadcaster) -> None:
        self._broadcaster = broadcaster
        self._signals = broadcaster.listen()
        self._inbox: asyncio.Queue[Signal] = asyncio.Queue()
        self._probed = asyncio.Event()
        self._task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        async for signal in self._signals:
            if isinstance(signal, Notice) and signal.type == PROBE:
                self._probed.set()
            else:
                self._inbox.put_nowait(signal)

    async def ready(self) -> None:
        """Publish probes until this listener hears one: from then on it receives whatever
        is published (a subscription starts when the iterator first runs)."""

        async def probe() -> None:
            while not self._probed.is_set():
                await self._broadcaster.publish([Notice(type=PROBE, audience=Audience.EVERYONE)])
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._probed.wait(), 0.05)

        await asyncio.wait_for(probe(), WAIT)

    async def next(self, within: float = WAIT) -> Signal:
        return await asyncio.wait_for(self._inbox.get(), within)

    async def take(self, count: int) -> list[Signal]:
        return [await self.next() for _ in range(count)]

    def pending(self) -> list[Signal]:
        return [self._inbox.get_nowait() for _ in range(self._inbox.qsize())]

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._signals.aclose()  # type: ignore[attr-defined]


@pytest.fixture
async def listeners() -> AsyncIterator[list[Listener]]:
    """Listeners a test opens; each is closed (its iterator too) at the end."""
    opened: list[Listener] = []
    yield opened
    for listener in opened:
        await listener.close()


@pytest.fixture(params=["memory", "redis"])
async def broadcaster(request: pytest.FixtureRequest) -> AsyncIterator[Broadcaster]:
    if request.param == "memory":
        yield InProcessBroadcaster()
        return
    redis = create_redis(request.getfixturevalue("redis_url"))
    try:
        yield RedisBroadcaster(redis, f"test:realtime:{uuid4()}")
    finally:
        await redis.aclose()
        await redis.connection_pool.disconnect()


async def listening(broadcaster: Broadcaster, listeners: list[Listener]) -> Listener:
    listener = Listener(broadcaster)
    listeners.append(listener)
    await listener.ready()
    return listener


# --------------------------------------------------------------------------- the contract


async def test_a_listener_receives_what_is_published_in_publication_order(
    broadcaster: Broadcaster, listeners: list[Listener]
) -> None:
    listener = await listening(broadcaster, listeners)
    await broadcaster.publish([a_notice(0)])
    await broadcaster.publish([a_notice(1), a_notice(2), a_notice(3)])
    await broadcaster.publish([])  # nothing to say is no message
    await broadcaster.publish([a_notice(4)])
    assert await listener.take(5) == [a_notice(n) for n in range(5)]
    await asyncio.sleep(0.05)
    assert listener.pending() == []


async def test_every_listener_receives_every_signal(broadcaster: Broadcaster, listeners: list[Listener]) -> None:
    first = await listening(broadcaster, listeners)
    second = await listening(broadcaster, listeners)
    await broadcaster.publish([a_notice(1), a_notice(2)])
    assert await first.take(2) == [a_notice(1), a_notice(2)]
    assert await second.take(2) == [a_notice(1), a_notice(2)]


async def test_a_listener_started_after_a_publish_does_not_receive_it(
    broadcaster: Broadcaster, listeners: list[Listener]
) -> None:
    await broadcaster.publish([a_notice(0)])
    listener = await listening(broadcaster, listeners)
    await broadcaster.publish([a_notice(1)])
    assert await listener.next() == a_notice(1)
    await asyncio.sleep(0.05)
    assert listener.pending() == []


async def test_a_closed_listener_receives_nothing_and_others_go_on(
    broadcaster: Broadcaster, listeners: list[Listener]
) -> None:
    leaving = await listening(broadcaster, listeners)
    staying = await listening(broadcaster, listeners)
    await leaving.close()
    await broadcaster.publish([a_notice(1)])
    assert await staying.next() == a_notice(1)
    assert leaving.pending() == []


SIGNALS: Sequence[Signal] = (
    Notice(
        type="post.published",
        data={
            "id": "0190f4c2-6c1e-7d3a-9f00-5b7a1c2d3e4f",
            "title": 'Grüße ✓ "quoted" \\ back',
            "tags": ["a", "b"],
            "nested": {"stats": {"total": 3, "sent": 1}, "none": None, "flag": False, "ratio": 0.5},
            "image_url": None,
        },
        audience=Audience.EVERYONE,
    ),
    Notice(type="todo.changed", data={"id": "x", "deleted": True}, audience=Audience.USER, user_id=uuid4()),
    Notice(type="campaign.progress", audience=Audience.ADMINS),
    Revocation(user_id=uuid4(), session_id=uuid4()),
    Revocation(user_id=uuid4()),
)


async def test_notices_and_revocations_round_trip_exactly(broadcaster: Broadcaster, listeners: list[Listener]) -> None:
    listener = await listening(broadcaster, listeners)
    await broadcaster.publish(SIGNALS)
    got = await listener.take(len(SIGNALS))
    assert got == list(SIGNALS)
    assert [type(signal) for signal in got] == [type(signal) for signal in SIGNALS]
    for signal in got:
        if isinstance(signal, Notice):
            assert isinstance(signal.audience, Audience)
            assert signal.user_id is None or isinstance(signal.user_id, UUID)
        else:
            assert isinstance(signal.user_id, UUID)
            assert signal.session_id is None or isinstance(signal.session_id, UUID)


# --------------------------------------------------------------------------- Redis only


async def test_publishing_to_an_unreachable_redis_is_a_dependency_error() -> None:
    redis = create_redis("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(DependencyUnavailableError):
            await asyncio.wait_for(RedisBroadcaster(redis, f"test:realtime:{uuid4()}").publish([a_notice(1)]), WAIT)
    finally:
        await redis.aclose()
        await redis.connection_pool.disconnect()


async def test_publishing_to_a_redis_that_does_not_answer_is_a_dependency_error_within_the_timeout() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # reads nothing, answers nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    redis = create_redis(f"redis://127.0.0.1:{port}/0")
    try:
        broadcaster = RedisBroadcaster(redis, f"test:realtime:{uuid4()}", timeout=0.3)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(DependencyUnavailableError):
            await asyncio.wait_for(broadcaster.publish([a_notice(1)]), WAIT)
        assert loop.time() - started < 2.0
    finally:
        await redis.aclose()
        await redis.connection_pool.disconnect()
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


async def _pubsub_ids(admin: Redis, name: str) -> list[str]:
    clients: list[dict[str, Any]] = await admin.client_list(_type="pubsub")
    return [str(client["id"]) for client in clients if client.get("name") == name]


async def test_a_listener_whose_connection_is_killed_reconnects_and_receives_later_publishes(
    redis_url: str, listeners: list[Listener]
) -> None:
    name = f"test-listener-{uuid4().hex[:12]}"
    separator = "&" if "?" in redis_url else "?"
    redis = create_redis(f"{redis_url}{separator}client_name={name}")
    admin: Redis = Redis.from_url(redis_url)
    channel = f"test:realtime:{uuid4()}"
    broadcaster = RedisBroadcaster(redis, channel)
    try:
        listener = await listening(broadcaster, listeners)
        [subscription] = await _pubsub_ids(admin, name)
        assert await admin.client_kill_filter(_id=subscription) == 1

        async def heard_again() -> Signal:
            n = 0
            while True:
                n += 1
                await broadcaster.publish([a_notice(n)])
                with contextlib.suppress(TimeoutError):
                    return await listener.next(0.1)

        first = await asyncio.wait_for(heard_again(), 10)
        assert first == Gap()  # what was published while away is gone, and the listener is told
        signal = await asyncio.wait_for(heard_again(), 10)
        assert isinstance(signal, Notice) and signal.type == "test.notice"
        renewed = await _pubsub_ids(admin, name)
        assert renewed and subscription not in renewed  # a new subscription, not the killed one
        await broadcaster.publish([Revocation(user_id=UUID(int=7))])
        while (following := await listener.next()) != Revocation(user_id=UUID(int=7)):
            assert isinstance(following, Notice)  # late copies of the polling notices only
    finally:
        for listener in listeners:
            await listener.close()
        listeners.clear()
        await admin.aclose()
        await redis.aclose()
        await redis.connection_pool.disconnect()


async def test_an_unreadable_message_on_the_channel_is_dropped_and_the_feed_goes_on(redis_url: str) -> None:
    redis = create_redis(redis_url)
    channel = f"test:realtime:{uuid4()}"
    broadcaster = RedisBroadcaster(redis, channel)
    listener = Listener(broadcaster)
    try:
        await listener.ready()
        for junk in (b'["abc"]', b'{"a": 1}', b"not json", b'[{"notice": 1}]'):
            await redis.publish(channel, junk)
        await broadcaster.publish([a_notice(1)])
        assert await listener.next() == a_notice(1)
    finally:
        await listener.close()
        await redis.aclose()
        await redis.connection_pool.disconnect()


async def test_a_listener_that_fell_behind_is_told_by_a_gap() -> None:
    broadcaster = InProcessBroadcaster(backlog=2)
    signals = broadcaster.listen()
    try:
        first = asyncio.ensure_future(signals.__anext__())  # subscribes, then waits
        await asyncio.sleep(0)
        await broadcaster.publish([a_notice(1), a_notice(2), a_notice(3)])  # the third finds the inbox full
        assert await asyncio.wait_for(first, WAIT) == a_notice(1)
        assert await asyncio.wait_for(signals.__anext__(), WAIT) == Gap()
    finally:
        await signals.aclose()  # type: ignore[attr-defined]
