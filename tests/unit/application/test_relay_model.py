"""A model of the relay: whatever interleaving of commits, rollbacks, relay passes, relay
crashes, queue outages and lease expiries, every committed event is queued exactly once in
the end, and no rolled-back one ever is."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from uuid import UUID

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from adapters.memory.job_queue import InMemoryJobQueue
from application.errors import DependencyUnavailableError
from application.jobs.relay_outbox import RelayRules
from application.shared.events import Envelope
from domain.shared.pagination import PageRequest
from tests.integration.test_identity_repositories import a_user
from tests.support.outbox import LEASE, memory_outbox

RULES = RelayRules(batch=3, lease=LEASE)


class CountingQueue(InMemoryJobQueue):
    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.queued: list[UUID] = []

    async def enqueue(self, envelope: Envelope) -> bool:
        if self.down:
            raise DependencyUnavailableError("redis")
        fresh = await super().enqueue(envelope)
        if fresh:
            self.queued.append(envelope.event_id)
        return fresh


class RelayModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.store = memory_outbox()
        self.queue = CountingQueue()
        self.relay = self.store.relay(self.queue, RULES)
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
        self.loop.close()

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
