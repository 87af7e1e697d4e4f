"""``RelayOutbox``: committed events go from the outbox to the job queue, each at least once."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from dataclasses import dataclass
from datetime import timedelta

from application.errors import DependencyUnavailableError
from application.jobs.ports import JobQueue
from application.shared.outbox import ClaimedBatch, OutboxReader

__all__ = ["RelayOutbox", "RelayReport", "RelayRules", "relay_until_stopped"]


@dataclass(frozen=True, slots=True)
class RelayRules:
    batch: int = 100
    lease: timedelta = timedelta(seconds=30)
    """Longer than a batch takes to enqueue: a relay that dies holds its events this long."""
    idle_delay: float = 0.2
    """Seconds to wait when the outbox is empty (or everything in it is claimed)."""
    max_backoff: float = 30.0
    """The longest wait between attempts while the queue is unreachable."""


@dataclass(frozen=True, slots=True)
class RelayReport:
    claimed: int
    enqueued: int
    """Events queued by this pass; the rest of ``claimed`` were queued already (duplicates)."""


class RelayOutbox:
    """One pass: claim a batch under a lease, queue each event under its event id, and
    mark the batch done.

    - The queue refuses a job id it has seen, so an event relayed twice (a relay that died
      after queuing and before marking) is queued once.
    - When the queue is unreachable, the events queued so far are marked done and the
      error propagates; the rest stay in the outbox under their lease and are claimed again
      once it runs out. Nothing is lost.
    """

    def __init__(self, outbox: OutboxReader, queue: JobQueue, rules: RelayRules) -> None:
        self._outbox = outbox
        self._queue = queue
        self._rules = rules

    async def __call__(self) -> RelayReport:
        batch = await self._outbox.claim(self._rules.batch, self._rules.lease)
        enqueued = 0
        for done, envelope in enumerate(batch.envelopes):
            try:
                enqueued += await self._queue.enqueue(envelope)
            except DependencyUnavailableError:
                await self._outbox.mark_done(_first(batch, done))
                raise
        await self._outbox.mark_done(batch)
        return RelayReport(claimed=len(batch.envelopes), enqueued=enqueued)


def _first(batch: ClaimedBatch, count: int) -> ClaimedBatch:
    return dataclasses.replace(batch, envelopes=batch.envelopes[:count])


async def relay_until_stopped(relay: RelayOutbox, rules: RelayRules, stop: asyncio.Event) -> None:
    """Run passes until ``stop`` is set: at once while batches come back full, after
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
