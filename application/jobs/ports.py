"""Ports of the jobs context."""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.shared.events import Envelope
from application.shared.unit_of_work import UnitOfWork
from domain.jobs.job import Job


class JobQueue(Protocol):
    """Where relayed events wait for a worker: one job per event, keyed by its event id."""

    @abstractmethod
    async def enqueue(self, envelope: Envelope) -> bool:
        """Queue the handling of ``envelope`` with its event id as the job id.

        False when a job with that id is queued or finished already (a relay that repeats
        itself after a crash): nothing is queued twice. Raises ``DependencyUnavailableError``
        when the queue cannot be reached; the event then stays in the outbox.
        """


class JobRepository(Protocol):
    @abstractmethod
    async def get(self, job_id: UUID) -> Job | None: ...

    @abstractmethod
    async def add(self, job: Job) -> None: ...

    @abstractmethod
    async def save(self, job: Job) -> None: ...


class HandledEvents(Protocol):
    """Which handler has processed which event, for good."""

    @abstractmethod
    async def of(self, event_id: UUID) -> set[str]:
        """The names of the handlers that processed ``event_id``."""

    @abstractmethod
    async def add(self, event_id: UUID, handler: str, at: datetime) -> None: ...


class JobsUnitOfWork(UnitOfWork, Protocol):
    """The jobs context's repositories, inside one transaction."""

    @property
    @abstractmethod
    def jobs(self) -> JobRepository: ...

    @property
    @abstractmethod
    def handled(self) -> HandledEvents: ...
