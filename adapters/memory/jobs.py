"""In-memory repositories of the jobs context."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from adapters.memory.unit_of_work import InMemoryRepository, InMemoryUnitOfWork
from adapters.shared.unit_of_work import ContextUnitOfWork, repository
from application.jobs.ports import HandledEvents, JobRepository, JobsUnitOfWork
from application.shared.events import Envelope
from domain.jobs.job import Job, JobStatus
from domain.shared.pagination import Page, PageRequest

__all__ = ["InMemoryHandledEvents", "InMemoryJobRepository", "InMemoryJobsUnitOfWork", "JobTables"]


@dataclass(slots=True)
class JobTables:
    jobs: dict[UUID, Job] = field(default_factory=dict)
    envelopes: dict[UUID, Envelope] = field(default_factory=dict)
    handled: dict[tuple[UUID, str], datetime] = field(default_factory=dict)

    def copy(self) -> JobTables:
        return JobTables(jobs=dict(self.jobs), envelopes=dict(self.envelopes), handled=dict(self.handled))


class InMemoryJobRepository(InMemoryRepository[JobTables], JobRepository):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, JobTables)

    async def get(self, job_id: UUID) -> Job | None:
        stored = self._tables.jobs.get(job_id)
        return None if stored is None else dataclasses.replace(stored)

    async def add(self, job: Job, envelope: Envelope) -> bool:
        if job.id in self._tables.jobs:
            return False
        tables = self._writable
        tables.jobs[job.id] = dataclasses.replace(job)
        tables.envelopes[job.id] = envelope
        return True

    async def save(self, job: Job) -> bool:
        stored = self._tables.jobs.get(job.id)
        if stored is None or stored.version != job.version - 1:
            return False
        self._writable.jobs[job.id] = dataclasses.replace(job)
        return True

    async def envelope(self, job_id: UUID) -> Envelope | None:
        return self._tables.envelopes.get(job_id)

    async def due(self, at: datetime, limit: int) -> list[Envelope]:
        def late(job: Job) -> bool:
            if job.status is JobStatus.QUEUED:
                return job.run_at <= at
            return job.status is JobStatus.RUNNING and job.lease_until is not None and job.lease_until <= at

        jobs = sorted((job for job in self._tables.jobs.values() if late(job)), key=lambda job: job.run_at)
        return [self._tables.envelopes[job.id] for job in jobs[:limit]]

    async def page(self, status: JobStatus | None, request: PageRequest) -> Page[Job]:
        matching = [job for job in self._tables.jobs.values() if status is None or job.status is status]
        matching.sort(key=lambda job: (job.enqueued_at, job.id), reverse=True)
        items = [dataclasses.replace(job) for job in matching[request.offset : request.offset + request.size]]
        return Page(items=items, request=request, total=len(matching))

    async def count_by_status(self) -> dict[JobStatus, int]:
        counts = dict.fromkeys(JobStatus, 0)
        for job in self._tables.jobs.values():
            counts[job.status] += 1
        return counts


class InMemoryHandledEvents(InMemoryRepository[JobTables], HandledEvents):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, JobTables)

    async def of(self, event_id: UUID) -> set[str]:
        return {handler for (event, handler) in self._tables.handled if event == event_id}

    async def add(self, event_id: UUID, handler: str, at: datetime) -> None:
        if (event_id, handler) not in self._tables.handled:
            self._writable.handled[(event_id, handler)] = at


class InMemoryJobsUnitOfWork(ContextUnitOfWork[InMemoryUnitOfWork], JobsUnitOfWork):
    jobs = repository(InMemoryJobRepository)
    handled = repository(InMemoryHandledEvents)
