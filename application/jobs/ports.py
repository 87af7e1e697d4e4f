"""Ports of the jobs context."""

from __future__ import annotations

from abc import abstractmethod
from typing import Protocol

from application.shared.events import Envelope


class JobQueue(Protocol):
    """Where relayed events wait for a worker: one job per event, keyed by its event id."""

    @abstractmethod
    async def enqueue(self, envelope: Envelope) -> bool:
        """Queue the handling of ``envelope`` with its event id as the job id.

        False when a job with that id is queued or finished already (a relay that repeats
        itself after a crash): nothing is queued twice. Raises ``DependencyUnavailableError``
        when the queue cannot be reached; the event then stays in the outbox.
        """
