"""Job records on memory, SQLite and PostgreSQL: recorded once, started by one worker,
found when due, listed newest first, and purged after the retention period."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from uuid import uuid4

from application.jobs.ports import JobsUnitOfWork
from application.shared.events import Envelope
from domain.jobs.job import Backoff, Job, JobStatus
from domain.shared.pagination import PageRequest
from tests.support.builders import T0
from tests.support.outbox import Outbox

LEASE = timedelta(minutes=5)
_BACKOFF = Backoff(max_attempts=5, base=timedelta(minutes=20), cap=timedelta(minutes=20))
_BACKOFF_ONCE = Backoff(max_attempts=1)


def _envelope(name: str = "user.registered") -> Envelope:
    return Envelope(
        event_id=uuid4(),
        name=name,
        occurred_at=T0,
        aggregate_type="user",
        aggregate_id="u1",
        actor_id=None,
        request_id="r1",
        payload={"email": "ada@example.com", "tags": ["a", 1]},
    )


async def _record(unit: JobsUnitOfWork, envelope: Envelope, at: timedelta = timedelta(0)) -> Job:
    job = Job.queue(event_id=envelope.event_id, name=envelope.name, now=T0 + at)
    async with unit as uow:
        assert await uow.jobs.add(job, envelope) is True
        await uow.commit()
    return job


async def _change(store: Outbox, envelope: Envelope, change: Callable[[Job], object]) -> None:
    async with store.new_jobs_unit() as uow:
        job = await uow.jobs.get(envelope.event_id)
        assert job is not None
        change(job)
        assert await uow.jobs.save(job)
        await uow.commit()


async def test_a_job_is_recorded_once_with_its_event(store: Outbox) -> None:
    envelope = _envelope()
    await _record(store.new_jobs_unit(), envelope)
    async with store.new_jobs_unit() as uow:
        again = Job.queue(event_id=envelope.event_id, name="other", now=T0 + timedelta(hours=1))
        assert await uow.jobs.add(again, envelope) is False
        await uow.commit()
    async with store.new_jobs_unit() as uow:
        job = await uow.jobs.get(envelope.event_id)
        assert await uow.jobs.envelope(envelope.event_id) == envelope
        assert await uow.jobs.envelope(uuid4()) is None
    assert job is not None and (job.name, job.enqueued_at, job.version) == ("user.registered", T0, 1)


async def test_of_two_workers_starting_one_job_one_does(store: Outbox) -> None:
    envelope = _envelope()
    await _record(store.new_jobs_unit(), envelope)
    first, second = store.new_jobs_unit(), store.new_jobs_unit()
    async with first as a:
        mine = await a.jobs.get(envelope.event_id)
    async with second as b:
        theirs = await b.jobs.get(envelope.event_id)
    assert mine is not None and theirs is not None
    mine.start(T0, LEASE)
    theirs.start(T0, LEASE)
    async with first as a:
        assert await a.jobs.save(mine) is True
        await a.commit()
    async with second as b:
        assert await b.jobs.save(theirs) is False  # the record moved on
        await b.commit()
    async with store.new_jobs_unit() as uow:
        stored = await uow.jobs.get(envelope.event_id)
    assert stored is not None and (stored.status, stored.attempts, stored.lease_until) == (
        JobStatus.RUNNING,
        1,
        T0 + LEASE,
    )


async def test_due_jobs_are_queued_ones_whose_time_came_and_running_ones_whose_lease_lapsed(store: Outbox) -> None:
    ready, later, running, crashed, done = (_envelope() for _ in range(5))
    for envelope in (ready, later, running, crashed, done):
        await _record(store.new_jobs_unit(), envelope)
    await _change(store, later, lambda job: job.start(T0, LEASE))
    await _change(store, later, lambda job: job.fail("boom", T0, _BACKOFF, 1.0))  # due in 20 minutes
    await _change(store, running, lambda job: job.start(T0 + timedelta(minutes=9), LEASE))
    await _change(store, crashed, lambda job: job.start(T0, LEASE))  # its lease lapsed at 5 minutes
    await _change(store, done, lambda job: job.succeed(T0))
    async with store.new_jobs_unit() as uow:
        due = {envelope.event_id for envelope in await uow.jobs.due(T0 + timedelta(minutes=10), 10)}
        assert due == {ready.event_id, crashed.event_id}
        assert len(await uow.jobs.due(T0 + timedelta(minutes=10), 1)) == 1
        assert {e.event_id for e in await uow.jobs.due(T0 + timedelta(hours=1), 10)} == {
            ready.event_id,
            crashed.event_id,
            later.event_id,
            running.event_id,
        }


async def test_pages_are_newest_first_and_filter_by_status(store: Outbox) -> None:
    envelopes = [_envelope() for _ in range(5)]
    for minute, envelope in enumerate(envelopes):
        await _record(store.new_jobs_unit(), envelope, timedelta(minutes=minute))
    await _change(store, envelopes[1], lambda job: job.start(T0, LEASE))
    await _change(store, envelopes[1], lambda job: job.fail("boom", T0, _BACKOFF_ONCE, 0.0))
    async with store.new_jobs_unit() as uow:
        page = await uow.jobs.page(None, PageRequest(1, 2))
        assert [j.id for j in page.items] == [envelopes[4].event_id, envelopes[3].event_id]
        assert (page.total, page.pages) == (5, 3)
        last = await uow.jobs.page(None, PageRequest(3, 2))
        assert [j.id for j in last.items] == [envelopes[0].event_id] and last.total == 5
        failed = await uow.jobs.page(JobStatus.FAILED, PageRequest(1, 20))
        assert [(j.id, j.last_error) for j in failed.items] == [(envelopes[1].event_id, "boom")]
        assert (await uow.jobs.page(JobStatus.QUEUED, PageRequest(1, 20))).total == 4
    await _change(store, envelopes[2], lambda job: job.start(T0, LEASE))
    async with store.new_jobs_unit() as uow:
        assert await uow.jobs.count_by_status() == {
            JobStatus.QUEUED: 3,
            JobStatus.RUNNING: 1,
            JobStatus.SUCCEEDED: 0,
            JobStatus.FAILED: 1,
        }


async def test_concurrent_records_of_one_event_make_one_job(store: Outbox) -> None:
    envelope = _envelope()

    async def record() -> bool:
        async with store.new_jobs_unit() as uow:
            added = await uow.jobs.add(Job.queue(event_id=envelope.event_id, name=envelope.name, now=T0), envelope)
            await uow.commit()
            return added

    assert sorted(await asyncio.gather(*(record() for _ in range(4)))) == [False, False, False, True]
