"""Domain events: facts that happened, recorded by aggregates and written to the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    """Base of every event. ``name`` is the stable identifier used in the outbox."""

    occurred_at: datetime

    @property
    def name(self) -> str:
        return type(self).__name__
