"""Domain events and the aggregates that record them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from uuid import UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    """A fact that happened. ``name`` is its public, stable identifier (``todo.changed``):
    consumers outside the process see that name, never the Python class name."""

    name: ClassVar[str]
    occurred_at: datetime


class Aggregate:
    """Base of every aggregate root: an entity with an ``id`` whose methods record events.

    A repository that stores an aggregate hands its pending events to the unit of work,
    which writes them to the outbox under ``aggregate_type`` and the aggregate's id.
    """

    __slots__ = ()
    aggregate_type: ClassVar[str]
    if TYPE_CHECKING:
        id: UUID
        events: list[DomainEvent]
