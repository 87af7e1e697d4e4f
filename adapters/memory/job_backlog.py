"""``InMemoryJobBacklog``: how many jobs wait or run, read from the jobs tables."""

from __future__ import annotations

from adapters.memory.jobs import JobTables
from adapters.memory.unit_of_work import InMemoryRepository, InMemoryUnitOfWork
from application.chat.ports import JobBacklog
from domain.jobs.job import JobStatus

__all__ = ["InMemoryJobBacklog"]


class InMemoryJobBacklog(InMemoryRepository[JobTables], JobBacklog):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, JobTables)

    async def queued(self) -> int:
        return sum(job.status in (JobStatus.QUEUED, JobStatus.RUNNING) for job in self._tables.jobs.values())
