"""A model of the relay and the workers: whatever interleaving of commits, rollbacks, relay
passes, relay crashes, queue outages, lease expiries, workers that die mid-job and
redeliveries, every committed event is queued exactly once and handled exactly once in the
end (its handler's effect happens once and is recorded done), and no rolled-back one ever
is."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import timedelta
from typing import ClassVar
from uuid import UUID

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from adapters.memory.job_queue import InMemoryJobQueue
from application.errors import DependencyUnavailableError
from application.jobs.handle_event import EventHandlers, HandleEvent, JobRules
from application.jobs.relay_outbox import RelayRules
from application.shared.events import Envelope
from domain.jobs.job import JobStatus
from domain.shared.pagination import PageRequest
from tests.integration.test_identity_repositories import a_user
from tests.support.outbox import LEASE, memory_outbox

RULES = RelayRules(batch=3, lease=LEASE)
JOB_RULES = JobRules(lease=timedelta(minutes=5))


class CountingQueue(InMemoryJobQueue):
    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.queued: list[UUID] = []
        self.envelopes: dict[UUID, Envelope] = {}

    async def enqueue(self, envelope: Envelope) -> bool:
        if self.down:
            raise DependencyUnavailableError("redis")
        fresh = await super().enqueue(envelope)
        if fresh:
            self.queued.append(envelope.event_id)
            self.envelopes[envelope.event_id] = envelope
        return fresh


class Effects:
    """The handler of ``user.registered``: counts its effect per event."""

    name: ClassVar[str] = "test.registered"
    events: ClassVar[frozenset[str]] = frozenset({"user.registered"})

    def __init__(self) -> None:
        self.done: Counter[UUID] = Counter()

    async def __call__(self, envelope: Envelope) -> None:
        self.done[envelope.event_id] += 1


class RelayModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.store = memory_outbox()
        self.queue = CountingQueue()
        self.relay = self.store.relay(self.queue, RULES)
        self.effects = Effects()
        self.handle = HandleEvent(
            self.store.new_jobs_unit(), EventHandlers((self.effects,)), self.store.clock, JOB_RULES
        )
        self.users = 0
        self.committed = 0

    def run(self, coroutine):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.drain()
        # every committed event, once, in the queue, with one job record each
        assert len(self.queue.queued) == len(set(self.queue.queued)) == self.committed
        recorded = self.store_jobs()
        assert recorded == set(self.queue.queued)
        # ... and handled once: one effect each, every job succeeded
        self.work_off()
        assert set(self.effects.done) == recorded and set(self.effects.done.values()) <= {1}
        assert self.statuses() == {JobStatus.SUCCEEDED} or not recorded
        self.loop.close()

    def work_off(self) -> None:
        """Workers take every job there is, as long as it takes (leases run out)."""
        for _ in range(1000):
            if self.queue.jobs.empty():
                return
            envelope = self.queue.jobs.get_nowait()
            outcome = self.run(self.handle(envelope))
            if not outcome.done:
                self.store.clock.advance(outcome.retry_in or JOB_RULES.lease)
                self.queue.jobs.put_nowait(envelope)  # arq: Retry(defer=...)
        raise AssertionError("the jobs never finished")

    def statuses(self) -> set[JobStatus]:
        async def statuses() -> set[JobStatus]:
            async with self.store.new_jobs_unit() as uow:
                return {job.status for job in (await uow.jobs.page(None, PageRequest(1, 100))).items}

        return self.run(statuses())

    @precondition(lambda self: not self.queue.jobs.empty())
    @rule()
    def worker_handles_a_job(self) -> None:
        envelope = self.queue.jobs.get_nowait()
        outcome = self.run(self.handle(envelope))
        if not outcome.done:
            self.queue.jobs.put_nowait(envelope)  # arq: Retry(defer=...)

    @precondition(lambda self: not self.queue.jobs.empty())
    @rule()
    def worker_dies_mid_job(self) -> None:
        """``kill -9`` after the job started, before its handler ran: arq keeps the job and
        delivers it again later; the record says running, under a lease that will lapse."""
        envelope = self.queue.jobs.get_nowait()

        async def start() -> None:
            async with self.store.new_jobs_unit() as uow:
                job = await uow.jobs.get(envelope.event_id)
                if job is not None and not job.finished and not job.held(self.store.clock.now()):
                    job.start(self.store.clock.now(), JOB_RULES.lease)
                    await uow.jobs.save(job)
                    await uow.commit()

        self.run(start())
        self.queue.jobs.put_nowait(envelope)

    @precondition(lambda self: bool(self.queue.queued))
    @rule(data=st.data())
    def queue_delivers_again(self, data: st.DataObject) -> None:
        """A lost acknowledgement, a sweep, an admin's retry: a job delivered twice."""
        event_id = data.draw(st.sampled_from(self.queue.queued))
        self.queue.jobs.put_nowait(self.queue.envelopes[event_id])

    def store_jobs(self) -> set[UUID]:
        async def ids() -> set[UUID]:
            found: set[UUID] = set()
            async with self.store.new_jobs_unit() as uow:
                page = await uow.jobs.page(None, PageRequest(1, 100))
                for number in range(2, page.pages + 1):
                    found.update(job.id for job in (await uow.jobs.page(None, PageRequest(number, 100))).items)
            return found | {job.id for job in page.items}

        return self.run(ids())

    def drain(self) -> None:
        self.queue.down = False
        self.store.clock.advance(LEASE * 2)
        while self.run(self.relay()).claimed:
            pass

    @rule(count=st.integers(1, 3))
    def commit(self, count: int) -> None:
        emails = [f"u{self.users + n}@example.com" for n in range(count)]
        self.users += count
        self.run(self.store.commit_users(*emails))
        self.committed += count

    @rule()
    def roll_back(self) -> None:
        async def abandoned() -> None:
            async with self.store.new_unit() as uow:
                await uow.users.add(a_user(f"never{self.users}@example.com"))
            # no commit: the block's events vanish with it

        self.users += 1
        self.run(abandoned())

    @rule()
    def relay_pass(self) -> None:
        with contextlib.suppress(DependencyUnavailableError):
            self.run(self.relay())

    @rule(queued=st.integers(0, 3))
    def relay_crashes(self, queued: int) -> None:
        """A relay claims, queues some of its batch, and dies before marking anything."""

        async def crash() -> None:
            batch = await self.store.reader.claim(RULES.batch, RULES.lease)
            for envelope in batch.envelopes[:queued]:
                await self.queue.enqueue(envelope)

        with contextlib.suppress(DependencyUnavailableError):
            self.run(crash())

    @rule()
    def queue_goes_down(self) -> None:
        self.queue.down = True

    @precondition(lambda self: self.queue.down)
    @rule()
    def queue_comes_back(self) -> None:
        self.queue.down = False

    @rule(seconds=st.sampled_from([1, 29, 31, 120]))
    def time_passes(self, seconds: int) -> None:
        self.store.clock.advance(timedelta(seconds=seconds))

    @invariant()
    def nothing_is_queued_twice_or_uncommitted(self) -> None:
        assert len(self.queue.queued) == len(set(self.queue.queued))
        assert len(self.queue.queued) <= self.committed


TestRelayModel = RelayModel.TestCase
