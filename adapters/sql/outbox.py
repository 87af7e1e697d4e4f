"""Writing domain events to the ``outbox`` table, in the caller's transaction."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, insert

from adapters.sql.session import Query, SqlSession
from adapters.sql.tables import outbox
from domain.shared.events import DomainEvent

__all__ = ["event_payload", "write_events"]


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def event_payload(event: DomainEvent) -> dict[str, Any]:
    """The event's fields as JSON-ready values (UUIDs and datetimes as strings)."""
    return {f.name: _plain(getattr(event, f.name)) for f in dataclasses.fields(event)}


_INSERT = Query(
    insert(outbox).values(name=bindparam("name"), payload=bindparam("payload"), occurred_at=bindparam("occurred_at")),
    json=("payload",),
)


async def write_events(session: SqlSession, events: list[DomainEvent]) -> None:
    for event in events:  # usually one per commit
        await session.run(_INSERT, name=event.name, payload=event_payload(event), occurred_at=event.occurred_at)
