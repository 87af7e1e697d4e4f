"""Events on their way out of the process: the envelope, and how a unit of work collects them.

A repository stores aggregates; the unit of work wraps every repository it hands out with
``collecting``, so the events of each aggregate a write accepted are taken in one place and
no repository can forget them. Events recorded by a write that failed (a version conflict)
or that changed nothing stay behind on the discarded aggregate and are never published. A
write an adapter judges only at the commit (a compare-and-set sent with its outbox row) is
collected when it is accepted for the commit; if it then loses, the adapter drops what was
collected since (``EventCollector.drop``), and no outbox row of it is written.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast
from uuid import UUID

from domain.shared.events import Aggregate, DomainEvent
from domain.shared.ids import UserId

__all__ = ["Envelope", "EventCollector", "Provenance", "collecting"]

_Repository = TypeVar("_Repository")


@dataclass(slots=True)
class Provenance:
    """Who caused the events of a unit of work, and in answer to which request.

    One per request (or job); the HTTP layer fills it in as it learns the request id, the
    client (address and user agent, for the audit log) and the authenticated actor.
    In-process callers leave it empty.
    """

    request_id: str | None = None
    actor_id: UserId | None = None
    ip: str | None = None
    user_agent: str | None = None
    trace_parent: str | None = None
    """The request's trace context when tracing is on (a W3C ``traceparent``), opaque here:
    the jobs its events set off continue that trace."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """An event as it leaves the process: the outbox row, the job, the realtime message."""

    event_id: UUID
    """Time-ordered (UUIDv7): the job id, so a relayed event is enqueued at most once."""
    name: str
    occurred_at: datetime
    aggregate_type: str
    aggregate_id: str
    actor_id: UUID | None
    request_id: str | None
    payload: Mapping[str, Any] = field(default_factory=dict)
    """The event's own fields as JSON values: ids and instants as strings."""
    trace_parent: str | None = None
    """The recording request's trace context (``Provenance.trace_parent``), if it was traced."""


_AS_IS = frozenset({str, int, float, bool, type(None)})
"""Types whose values are JSON values already (exactly these: a ``str`` enum is not)."""

_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names, looked up once per class (``dataclasses.fields`` builds
    a tuple on every call)."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _plain(value: Any) -> Any:
    if type(value) in _AS_IS:
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(getattr(value, name)) for name in _field_names(type(value))}
    return value


def payload(event: DomainEvent) -> dict[str, Any]:
    """The event's fields except ``occurred_at`` (the envelope carries it), as JSON values."""
    return {name: _plain(getattr(event, name)) for name in _field_names(type(event)) if name != "occurred_at"}


class EventCollector:
    """The events one unit-of-work block will commit, in the order their writes happened."""

    def __init__(self) -> None:
        self._pending: list[tuple[Aggregate, DomainEvent]] = []

    def take(self, aggregate: Aggregate) -> None:
        """Move the aggregate's recorded events here: a write of it was accepted."""
        if aggregate.events:
            self._pending.extend((aggregate, event) for event in aggregate.events)
            aggregate.events.clear()

    def mark(self) -> int:
        """Where the collection stands, for ``drop``."""
        return len(self._pending)

    def drop(self, *, since: int) -> None:
        """Forget the events collected after ``mark()`` said ``since``: the writes they
        announce were undone before the commit (an adapter judged a write only later, and
        it lost: a compare-and-set held for the commit)."""
        del self._pending[since:]

    def envelopes(self, new_id: Callable[[], UUID], provenance: Provenance) -> list[Envelope]:
        """Seal the collected events and start over (``commit`` calls this once)."""
        pending, self._pending = self._pending, []
        return [
            Envelope(
                event_id=new_id(),
                name=event.name,
                occurred_at=event.occurred_at,
                aggregate_type=aggregate.aggregate_type,
                aggregate_id=str(aggregate.id),
                actor_id=provenance.actor_id,
                request_id=provenance.request_id,
                payload=payload(event),
                trace_parent=provenance.trace_parent,
            )
            for aggregate, event in pending
        ]


class _Collecting:
    """A repository whose every method hands aggregates it was given to the collector once
    the call returns. An error (a version conflict, a duplicate) collects nothing, and so
    does a write that returns ``False``: it says it changed nothing (a session revoked
    already), so there is nothing to announce."""

    def __init__(self, repository: object, collector: EventCollector) -> None:
        self._repository = repository
        self._collector = collector

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._repository, name)
        if not callable(method):
            return method
        collector = self._collector

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = await method(*args, **kwargs)
            if result is False:
                return result
            for argument in (*args, *kwargs.values()):
                if isinstance(argument, Aggregate):
                    collector.take(argument)
            return result

        setattr(self, name, call)  # built once per repository and method
        return call


def collecting(repository: _Repository, collector: EventCollector) -> _Repository:
    """``repository`` as the unit of work hands it out: see the module docstring."""
    return cast(_Repository, _Collecting(repository, collector))
