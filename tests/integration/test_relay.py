"""The relay contract on memory, SQLite and PostgreSQL: every committed event reaches the
queue once, nothing is lost while the queue is down, and a crashed relay's events come back."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from adapters.memory.job_queue import InMemoryJobQueue
from adapters.redis.job_queue import ArqJobQueue
from application.errors import DependencyUnavailableError
from application.jobs.due_jobs import RequeueOverdueJobs, SweepRules
from application.jobs.ports import JobQueue
from application.jobs.relay_outbox import RelayRules, relay_until_stopped
from application.shared.events import Envelope
from domain.jobs.job import Backoff
from tests.support.builders import T0
from tests.support.outbox import LEASE, Outbox

RULES = RelayRules(batch=3, lease=LEASE, idle_delay=0.01, max_backoff=0.05)


class FlakyQueue(InMemoryJobQueue):
    """Refuses (as an unreachable Redis) while ``down``, or after ``fail_after`` enqueues."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.fail_after: int | None = None
        self.calls = 0

    async def enqueue(self, envelope: Envelope) -> bool:
        self.calls += 1
        if self.down or (self.fail_after is not None and self.calls > self.fail_after):
            raise DependencyUnavailableError("redis")
        return await super().enqueue(envelope)


def _queued(queue: InMemoryJobQueue) -> list[str]:
    emails = []
    while not queue.jobs.empty():
        emails.append(queue.jobs.get_nowait().payload["email"])
    return emails


async def test_every_committed_event_is_queued_once_in_order(store: Outbox) -> None:
    await store.commit_users(*(f"u{n}@example.com" for n in range(7)))
    queue = InMemoryJobQueue()
    relay = store.relay(queue, RULES)
    reports = [await relay() for _ in range(4)]
    assert [(r.claimed, r.enqueued) for r in reports] == [(3, 3), (3, 3), (1, 1), (0, 0)]
    assert _queued(queue) == [f"u{n}@example.com" for n in range(7)]
    assert await store.reader.oldest_pending() is None


async def test_while_the_queue_is_down_events_wait_and_then_go(store: Outbox) -> None:
    await store.commit_users("a@example.com", "b@example.com", "c@example.com")
    queue = FlakyQueue()
    queue.fail_after = 1  # the queue goes away in the middle of a batch
    relay = store.relay(queue, RULES)
    with pytest.raises(DependencyUnavailableError):
        await relay()
    assert _queued(queue) == ["a@example.com"]
    with pytest.raises(DependencyUnavailableError):  # still down: the rest was released, not held
        await relay()
    assert queue.calls == 5 and _queued(queue) == []  # a; b and c refused; b and c refused again
    queue.fail_after = None
    report = await relay()  # back: no lease to wait out
    assert (report.claimed, report.enqueued) == (2, 2)
    assert _queued(queue) == ["b@example.com", "c@example.com"]
    assert await store.reader.oldest_pending() is None


async def test_a_relay_that_died_before_marking_queues_nothing_twice(store: Outbox) -> None:
    await store.commit_users("a@example.com", "b@example.com")
    queue = InMemoryJobQueue()
    batch = await store.reader.claim(10, LEASE)  # a relay claims and queues, then dies
    for envelope in batch.envelopes:
        await queue.enqueue(envelope)
    store.clock.advance(LEASE + timedelta(seconds=1))
    report = await store.relay(queue, RULES)()
    assert (report.claimed, report.enqueued) == (2, 0)
    assert _queued(queue) == ["a@example.com", "b@example.com"]
    assert await store.reader.oldest_pending() is None


async def test_the_loop_backs_off_while_the_queue_is_down_and_resumes_by_itself(store: Outbox) -> None:
    await store.commit_users(*(f"u{n}@example.com" for n in range(5)))
    queue = FlakyQueue()
    queue.down = True
    stop = asyncio.Event()
    loop = asyncio.create_task(relay_until_stopped(store.relay(queue, RULES), RULES, stop))
    for _ in range(250):  # it goes on trying: two failed passes of 5 events (however slow the machine)
        if queue.calls >= 2 * 5:
            break
        await asyncio.sleep(0.02)
    assert queue.calls >= 2 * 5
    before = queue.calls
    await asyncio.sleep(0.2)
    # Backing off (0.02, 0.04, 0.05, ... s) makes at most a dozen passes in 0.2 s; a loop that
    # spun would make hundreds. (Only the upper bound: a slow machine makes fewer, never more.)
    assert queue.calls - before <= 12 * 5
    queue.down = False
    store.clock.advance(LEASE + timedelta(seconds=1))  # the first failed pass held a batch
    for _ in range(100):
        if await store.reader.oldest_pending() is None:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(loop, 1)
    assert sorted(_queued(queue)) == sorted(f"u{n}@example.com" for n in range(5))


async def test_arq_queues_an_event_once_under_its_event_id(redis_url: str, store: Outbox) -> None:
    from arq.connections import ArqRedis

    await store.commit_users("a@example.com")
    [envelope] = (await store.reader.claim(10, LEASE)).envelopes
    redis = ArqRedis.from_url(redis_url)
    try:
        queue: JobQueue = ArqJobQueue(redis)
        assert await queue.enqueue(envelope) is True
        assert await queue.enqueue(envelope) is False
        assert await redis.exists(f"arq:job:{envelope.event_id}") == 1
    finally:
        await redis.delete(f"arq:job:{envelope.event_id}", "arq:queue")
        await redis.aclose()


async def test_arq_unreachable_is_a_dependency_error(store: Outbox) -> None:
    from arq.connections import ArqRedis

    await store.commit_users("a@example.com")
    [envelope] = (await store.reader.claim(10, LEASE)).envelopes
    redis = ArqRedis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        with pytest.raises(DependencyUnavailableError):
            await ArqJobQueue(redis).enqueue(envelope)
    finally:
        await redis.aclose()


async def test_lag_is_the_age_of_the_oldest_unrelayed_event(store: Outbox) -> None:
    relay = store.relay(InMemoryJobQueue(), RULES)
    assert await relay.lag() == timedelta(0)
    await store.commit_users("a@example.com")
    store.clock.advance(timedelta(minutes=5))
    await store.commit_users("b@example.com")
    assert await relay.lag() == timedelta(minutes=5)
    await relay()
    assert await relay.lag() == timedelta(0)


async def test_arq_queues_a_retry_under_an_id_of_its_own(redis_url: str, store: Outbox) -> None:
    from arq.connections import ArqRedis

    await store.commit_users("a@example.com")
    [envelope] = (await store.reader.claim(10, LEASE)).envelopes
    redis = ArqRedis.from_url(redis_url)
    try:
        queue = ArqJobQueue(redis)
        assert await queue.enqueue(envelope) is True
        await queue.requeue(envelope)  # the first id is still held: a retry must not be refused
        await queue.requeue(envelope)
        keys = sorted(key.decode() for key in await redis.keys(f"arq:job:{envelope.event_id}*"))
        assert len(keys) == 3 and keys[0] == f"arq:job:{envelope.event_id}"
        assert all(key.startswith(f"arq:job:{envelope.event_id}:retry:") for key in keys[1:])
    finally:
        for key in await redis.keys(f"arq:job:{envelope.event_id}*"):
            await redis.delete(key)
        await redis.delete("arq:queue")
        await redis.aclose()


async def test_the_sweep_queues_again_only_jobs_long_overdue(store: Outbox) -> None:
    """What a Redis that lost its data dropped: recorded, queued long ago, never started."""
    await store.commit_users("lost@example.com", "waiting@example.com")
    await store.relay(InMemoryJobQueue(), RULES)()  # recorded and "queued" into a queue that is then lost
    async with store.new_jobs_unit() as uow:  # one of them fails once and waits for its retry
        [waiting] = [e for e in await uow.jobs.due(T0, 10) if e.payload["email"] == "waiting@example.com"]
        job = await uow.jobs.get(waiting.event_id)
        assert job is not None
        job.start(T0, timedelta(minutes=5))
        assert await uow.jobs.save(job)
        job.fail("boom", T0, Backoff(base=timedelta(hours=1), cap=timedelta(hours=1)), 1.0)
        assert await uow.jobs.save(job)
        await uow.commit()
    queue = InMemoryJobQueue()
    sweep = RequeueOverdueJobs(store.new_jobs_unit(), queue, store.clock, SweepRules(overdue=timedelta(minutes=10)))
    store.clock.advance(timedelta(minutes=9))
    assert await sweep() == 0  # not overdue yet
    store.clock.advance(timedelta(minutes=2))
    assert await sweep() == 1
    assert _queued(queue) == ["lost@example.com"]  # the one waiting for its retry stays put
