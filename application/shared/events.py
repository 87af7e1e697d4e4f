"""What the unit of work needs to find the events of the aggregates a use-case touched."""

from __future__ import annotations

from typing import Protocol

from domain.shared.events import DomainEvent


class EventSource(Protocol):
    events: list[DomainEvent]


class SeenAggregates:
    """Aggregates loaded or stored during one unit of work; their events go to the outbox."""

    def __init__(self) -> None:
        self._seen: dict[int, EventSource] = {}

    def add(self, aggregate: EventSource) -> None:
        self._seen[id(aggregate)] = aggregate

    def drain_events(self) -> list[DomainEvent]:
        events = [event for aggregate in self._seen.values() for event in aggregate.events]
        for aggregate in self._seen.values():
            aggregate.events.clear()
        return sorted(events, key=lambda event: event.occurred_at)

    def clear(self) -> None:
        self._seen.clear()
