"""Jobs that should be running and are not: the in-process runner's work, and the sweep
that queues again what a queue lost."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import timedelta

from application.jobs.ports import JobQueue, JobsUnitOfWork
from application.shared.events import Envelope
from application.shared.ports import Clock

__all__ = ["Doorbell", "FindDueJobs", "RequeueOverdueJobs", "RunnerRules", "SweepRules"]


@dataclass(frozen=True, slots=True)
class RunnerRules:
    """How the in-process runner of the embedded profile looks for work."""

    batch: int = 20
    poll: float = 1.0
    """Seconds between looks for due jobs (retries whose wait ran out) when nothing rang."""
    concurrency: int = 4
    """Jobs the runner handles at the same time."""


class Doorbell:
    """Rung when a job is queued in this process, so the runner need not wait for its next look."""

    def __init__(self) -> None:
        self._rung = asyncio.Event()

    def ring(self) -> None:
        self._rung.set()

    async def wait(self, seconds: float) -> None:
        """Until rung or ``seconds`` have passed; the ring is then consumed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._rung.wait(), seconds)
        self._rung.clear()


class FindDueJobs:
    """The jobs due now, longest due first. Several runners may find the same job:
    ``HandleEvent`` starts it by compare-and-set, so one of them runs it."""

    def __init__(self, uow: JobsUnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, limit: int) -> list[Envelope]:
        async with self._uow as uow:
            return await uow.jobs.due(self._clock.now(), limit)


@dataclass(frozen=True, slots=True)
class SweepRules:
    overdue: timedelta = timedelta(minutes=10)
    """A job this late for its start is taken as lost by the queue (a Redis that restarted
    without its data, a retry whose queuing failed) and queued again. Too short only costs
    duplicates, which ``HandleEvent`` turns into no-ops."""
    batch: int = 500


class RequeueOverdueJobs:
    """For a worker's periodic sweep: the job records are the truth, the queue a copy."""

    def __init__(self, uow: JobsUnitOfWork, queue: JobQueue, clock: Clock, rules: SweepRules) -> None:
        self._uow = uow
        self._queue = queue
        self._clock = clock
        self._rules = rules

    async def __call__(self) -> int:
        async with self._uow as uow:
            overdue = await uow.jobs.due(self._clock.now() - self._rules.overdue, self._rules.batch)
        for envelope in overdue:
            await self._queue.requeue(envelope)
        return len(overdue)
