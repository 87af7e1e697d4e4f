"""``JobFigures``: the jobs and the outbox as an operator watches them (``/metrics``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from application.jobs.ports import JobsUnitOfWork
from application.shared.outbox import OutboxReader
from application.shared.ports import Clock
from domain.jobs.job import JobStatus

__all__ = ["JobFigures", "JobsAtAGlance"]


@dataclass(frozen=True, slots=True)
class JobsAtAGlance:
    jobs: dict[JobStatus, int]
    """Job records in each status (every status is a key)."""
    outbox_lag: timedelta
    """How long the oldest unrelayed event has waited; zero when none waits."""


class JobFigures:
    """Read from the database, so every process and host reports the same figures. Not
    authorized here: the caller (``/metrics``) is meant for the internal network."""

    def __init__(self, uow: JobsUnitOfWork, outbox: OutboxReader, clock: Clock) -> None:
        self._uow = uow
        self._outbox = outbox
        self._clock = clock

    async def __call__(self) -> JobsAtAGlance:
        async with self._uow as uow:
            counts = await uow.jobs.count_by_status()
        oldest = await self._outbox.oldest_pending()
        lag = timedelta(0) if oldest is None else max(timedelta(0), self._clock.now() - oldest)
        return JobsAtAGlance(jobs=counts, outbox_lag=lag)
