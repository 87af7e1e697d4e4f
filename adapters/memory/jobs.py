"""In-memory repositories of the jobs context."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from adapters.memory.unit_of_work import InMemoryRepository, InMemoryUnitOfWork
from adapters.shared.unit_of_work import ContextUnitOfWork, repository
from application.errors import AlreadyExistsError
from application.jobs.ports import HandledEvents, JobRepository, JobsUnitOfWork
from domain.jobs.job import Job

__all__ = ["InMemoryHandledEvents", "InMemoryJobRepository", "InMemoryJobsUnitOfWork", "JobTables"]


@dataclass(slots=True)
class JobTables:
    jobs: dict[UUID, Job] = field(default_factory=dict)
    handled: dict[tuple[UUID, str], datetime] = field(default_factory=dict)

    def copy(self) -> JobTables:
        return JobTables(jobs=dict(self.jobs), handled=dict(self.handled))


class InMemoryJobRepository(InMemoryRepository[JobTables], JobRepository):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, JobTables)

    async def get(self, job_id: UUID) -> Job | None:
        stored = self._tables.jobs.get(job_id)
        return None if stored is None else dataclasses.replace(stored)

    async def add(self, job: Job) -> None:
        if job.id in self._tables.jobs:
            raise AlreadyExistsError("job", "id")
        self._writable.jobs[job.id] = dataclasses.replace(job)

    async def save(self, job: Job) -> None:
        self._writable.jobs[job.id] = dataclasses.replace(job)


class InMemoryHandledEvents(InMemoryRepository[JobTables], HandledEvents):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, JobTables)

    async def of(self, event_id: UUID) -> set[str]:
        return {handler for (event, handler) in self._tables.handled if event == event_id}

    async def add(self, event_id: UUID, handler: str, at: datetime) -> None:
        if (event_id, handler) in self._tables.handled:
            raise AlreadyExistsError("handled event", "id")
        self._writable.handled[(event_id, handler)] = at


class InMemoryJobsUnitOfWork(ContextUnitOfWork[InMemoryUnitOfWork], JobsUnitOfWork):
    jobs = repository(InMemoryJobRepository)
    handled = repository(InMemoryHandledEvents)
