"""``RelayOutbox``: committed events go from the outbox to the job queue, each at least once."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from application.errors import DependencyUnavailableError
from application.jobs.handle_event import EventHandlers
from application.jobs.ports import JobQueue, JobsUnitOfWork
from application.shared.events import Envelope
from application.shared.outbox import ClaimedBatch, OutboxReader
from application.shared.ports import Clock
from application.shared.realtime import Announcer, Broadcaster
from domain.jobs.job import Job

__all__ = ["RelayOutbox", "RelayReport", "RelayRules", "relay_until_stopped"]


@dataclass(frozen=True, slots=True)
class RelayRules:
    batch: int = 100
    lease: timedelta = timedelta(seconds=30)
    """Longer than a batch takes to enqueue: a relay that dies holds its events this long."""
    idle_delay: float = 0.1
    """Seconds to wait when the outbox is empty (or everything in it is claimed)."""
    max_backoff: float = 10.0
    concurrency: int = 16
    """Events queued at the same time."""
    """The longest wait between attempts while the queue is unreachable."""


@dataclass(frozen=True, slots=True)
class RelayReport:
    claimed: int
    enqueued: int
    """Events queued by this pass; the rest of ``claimed`` were queued already (duplicates)."""


class RelayOutbox:
    """One pass: claim a batch under a lease, record a job for each event some handler
    wants, announce the batch's events to the API processes' sockets (``Announcer``,
    ``Broadcaster``), queue the jobs under their event ids, and mark the batch done.

    - The job records (with their events) are committed before anything is queued: a job
      is listed from then on, and never exists only in the queue.
    - Recording and queuing both refuse an event id they have seen, so an event relayed
      twice (a relay that died after queuing and before marking) is one job, queued once.
    - When the queue is unreachable, the events it took are marked done, the rest are
      released for the next pass, and the error propagates. Nothing is lost (a relay
      that dies instead leaves them leased: they are claimed again once the lease runs out).
    - An event no handler wants is marked done without a job.
    - Announcements go out before anything is marked done: when the broadcaster is
      unreachable the batch is released and the error propagates. An event relayed again
      is announced again (realtime delivery is at least once; clients key on ``version``).
    """

    def __init__(
        self,
        outbox: OutboxReader,
        uow: JobsUnitOfWork,
        queue: JobQueue,
        handlers: EventHandlers,
        clock: Clock,
        rules: RelayRules,
        announcer: Announcer,
        broadcaster: Broadcaster,
    ) -> None:
        self._outbox = outbox
        self._uow = uow
        self._queue = queue
        self._handlers = handlers
        self._clock = clock
        self._rules = rules
        self._announcer = announcer
        self._broadcaster = broadcaster

    async def __call__(self) -> RelayReport:
        batch = await self._outbox.claim(self._rules.batch, self._rules.lease)
        wanted = [envelope for envelope in batch.envelopes if self._handlers.of(envelope.name)]
        if wanted:
            await self._record(wanted)
        signals = [signal for envelope in batch.envelopes for signal in self._announcer(envelope)]
        if signals:
            try:
                await self._broadcaster.publish(signals)
            except DependencyUnavailableError:
                await self._outbox.release(batch)
                raise
        outcomes = await self._enqueue(wanted)
        failed = [
            envelope for envelope, outcome in zip(wanted, outcomes, strict=True) if isinstance(outcome, Exception)
        ]
        if failed:
            await self._outbox.mark_done(_without(batch, failed))
            await self._outbox.release(batch)
            raise next(outcome for outcome in outcomes if isinstance(outcome, Exception))
        await self._outbox.mark_done(batch)
        return RelayReport(claimed=len(batch.envelopes), enqueued=sum(outcome is True for outcome in outcomes))

    async def _enqueue(self, envelopes: list[Envelope]) -> list[bool | DependencyUnavailableError]:
        """Queue each event, ``concurrency`` at a time (each is a few round trips to Redis);
        per event, whether it was new, or the error that kept it out."""
        slots = asyncio.Semaphore(self._rules.concurrency)

        async def one(envelope: Envelope) -> bool | DependencyUnavailableError:
            async with slots:
                try:
                    return await self._queue.enqueue(envelope)
                except DependencyUnavailableError as error:
                    return error

        return list(await asyncio.gather(*(one(envelope) for envelope in envelopes)))

    async def lag(self) -> timedelta:
        """How long the oldest unrelayed event has waited (zero when none): the relay's
        health, for metrics and alerts."""
        oldest = await self._outbox.oldest_pending()
        return timedelta(0) if oldest is None else max(timedelta(0), self._clock.now() - oldest)

    async def _record(self, envelopes: list[Envelope]) -> None:
        async with self._uow as uow:
            now = self._clock.now()
            for envelope in envelopes:
                await uow.jobs.add(Job.queue(event_id=envelope.event_id, name=envelope.name, now=now), envelope)
            await uow.commit()


def _without(batch: ClaimedBatch, pending: list[Envelope]) -> ClaimedBatch:
    """``batch`` less the events still to be queued."""
    left = {envelope.event_id for envelope in pending}
    return dataclasses.replace(batch, envelopes=[e for e in batch.envelopes if e.event_id not in left])


async def relay_until_stopped(
    relay: Callable[[], Awaitable[RelayReport]], rules: RelayRules, stop: asyncio.Event
) -> None:
    """Run passes (``RelayOutbox`` calls, each maybe in a scope of its own) until ``stop``
    is set: at once while batches come back full, after
    ``idle_delay`` when the outbox has nothing, and with exponential backoff (up to
    ``max_backoff``) while the queue or the database is unreachable."""
    backoff = rules.idle_delay
    while not stop.is_set():
        try:
            report = await relay()
        except DependencyUnavailableError:
            backoff = min(backoff * 2, rules.max_backoff)
            delay = backoff
        else:
            backoff = rules.idle_delay
            delay = 0.0 if report.claimed == rules.batch else rules.idle_delay
        if delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
