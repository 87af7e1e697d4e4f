"""The ``OutboxReader`` port: how a relay takes committed events out of the outbox."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from application.shared.events import Envelope

__all__ = ["ClaimedBatch", "OutboxReader"]


@dataclass(frozen=True, slots=True)
class ClaimedBatch:
    """Events one relay holds until ``lease_until``, oldest first. ``token`` proves the claim."""

    token: UUID
    lease_until: datetime
    envelopes: list[Envelope]


class OutboxReader(Protocol):
    """Claim, relay, mark done: at least once, oldest first by outbox position.

    Positions are taken when a transaction writes its events, so a batch may hold an event
    written after one that commits later and comes in a later batch: consumers must not
    assume a global order. Events of one aggregate keep theirs, as its writes are serialized.

    A claimed event is invisible to other relays until its lease runs out; a relay that
    dies mid-batch leaves it to be claimed again after that. Two relays never hold the
    same event at once.
    """

    @abstractmethod
    async def claim(self, limit: int, lease: timedelta) -> ClaimedBatch:
        """Up to ``limit`` unpublished events that nobody holds (or whose lease ran out)."""

    @abstractmethod
    async def mark_done(self, batch: ClaimedBatch) -> int:
        """Mark the batch's events published; the number marked. An event whose lease ran
        out and was claimed by another relay meanwhile is left to that relay."""

    @abstractmethod
    async def release(self, batch: ClaimedBatch) -> int:
        """Give up the lease on ``batch``'s events not marked done, so the next claim takes
        them at once (a relay whose queue went away); how many were released."""

    @abstractmethod
    async def oldest_pending(self) -> datetime | None:
        """When the oldest unpublished event occurred (relay lag for metrics); ``None`` if none."""
