"""``InMemoryJobQueue``: the job queue of one process (the embedded profile, and tests)."""

from __future__ import annotations

import asyncio
from uuid import UUID

from application.jobs.ports import JobQueue
from application.shared.events import Envelope

__all__ = ["InMemoryJobQueue"]


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
