"""Job queues without Redis: this process's own runner, and a recording one for tests."""

from __future__ import annotations

import asyncio
from uuid import UUID

from application.jobs.due_jobs import Doorbell
from application.jobs.ports import JobQueue
from application.shared.events import Envelope

__all__ = ["InMemoryJobQueue", "InProcessJobQueue"]


class InProcessJobQueue(JobQueue):
    """The embedded profile's queue is the job records themselves (the relay wrote them
    before queuing): queuing only rings the in-process runner, which claims due records."""

    def __init__(self, doorbell: Doorbell) -> None:
        self._doorbell = doorbell

    async def enqueue(self, envelope: Envelope) -> bool:
        self._doorbell.ring()
        return True

    async def requeue(self, envelope: Envelope) -> None:
        self._doorbell.ring()


class InMemoryJobQueue(JobQueue):
    """Remembers every job id it was given, as arq remembers a job and then its result, so a
    repeated event is queued once. ``jobs`` is what a worker of this process takes from."""

    def __init__(self) -> None:
        self.jobs: asyncio.Queue[Envelope] = asyncio.Queue()
        self._seen: set[UUID] = set()

    async def enqueue(self, envelope: Envelope) -> bool:
        if envelope.event_id in self._seen:
            return False
        self._seen.add(envelope.event_id)
        self.jobs.put_nowait(envelope)
        return True

    async def requeue(self, envelope: Envelope) -> None:
        self.jobs.put_nowait(envelope)
