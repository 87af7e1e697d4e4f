"""Ports of the jobs context."""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.shared.events import Envelope
from application.shared.unit_of_work import UnitOfWork
from domain.jobs.job import Job, JobStatus
from domain.shared.pagination import Page, PageRequest


class JobQueue(Protocol):
    """Where recorded jobs wait for a worker: arq on Redis, or this process's own runner."""

    @abstractmethod
    async def enqueue(self, envelope: Envelope) -> bool:
        """Queue the handling of ``envelope`` with its event id as the job id.

        False when a job with that id is queued or finished already (a relay that repeats
        itself after a crash): nothing is queued twice. Raises ``DependencyUnavailableError``
        when the queue cannot be reached; the event then stays in the outbox.
        """

    @abstractmethod
    async def requeue(self, envelope: Envelope) -> None:
        """Queue a job again that an admin retried: its first run is over, so the queue
        must not refuse it as a repeat. Raises ``DependencyUnavailableError`` as ``enqueue``."""


class JobRepository(Protocol):
    """Job records, each with the event it handles. Also the queue of the in-process runner."""

    @abstractmethod
    async def get(self, job_id: UUID) -> Job | None: ...

    @abstractmethod
    async def add(self, job: Job, envelope: Envelope) -> bool:
        """Record ``job`` for ``envelope``'s event; False, writing nothing, when it is recorded already."""

    @abstractmethod
    async def save(self, job: Job) -> bool:
        """Store a job read in this unit of work, by compare-and-set: only if the stored
        version is ``job.version - 1``. False, writing nothing, when another worker changed
        it first (of two that start one job, one does)."""

    @abstractmethod
    async def envelope(self, job_id: UUID) -> Envelope | None:
        """The event the job handles."""

    @abstractmethod
    async def due(self, at: datetime, limit: int) -> list[Envelope]:
        """Up to ``limit`` jobs that should be running by ``at`` and are not, longest due
        first: queued ones whose ``run_at`` is not after ``at``, and running ones whose
        lease lapsed by then (their worker died mid-job)."""

    @abstractmethod
    async def page(self, status: JobStatus | None, request: PageRequest) -> Page[Job]:
        """Newest first (by ``enqueued_at``), optionally of one status."""

    @abstractmethod
    async def count_by_status(self) -> dict[JobStatus, int]:
        """How many job records are in each status (every status is a key)."""


class HandledEvents(Protocol):
    """Which handler has processed which event, for good."""

    @abstractmethod
    async def of(self, event_id: UUID) -> set[str]:
        """The names of the handlers that processed ``event_id``."""

    @abstractmethod
    async def add(self, event_id: UUID, handler: str, at: datetime) -> None:
        """Record ``handler`` done with ``event_id``; recording it twice is the same as once."""


class JobsUnitOfWork(UnitOfWork, Protocol):
    """The jobs context's repositories, inside one transaction."""

    @property
    @abstractmethod
    def jobs(self) -> JobRepository: ...

    @property
    @abstractmethod
    def handled(self) -> HandledEvents: ...
