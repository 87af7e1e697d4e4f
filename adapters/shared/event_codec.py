"""The one encoding of an event envelope at rest: the SQL outbox row and the in-memory one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypedDict
from uuid import UUID

import msgspec

from application.shared.events import Envelope

__all__ = ["OutboxRow", "decode", "encode"]

_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(dict[str, Any])


class OutboxRow(TypedDict):
    """The columns of an ``outbox`` row that describe the event (not the relay's bookkeeping)."""

    event_id: UUID
    name: str
    occurred_at: datetime
    aggregate_type: str
    aggregate_id: str
    actor_id: UUID | None
    request_id: str | None
    payload: str
    """JSON text: the same bytes on PostgreSQL, SQLite and in memory."""


def encode(envelope: Envelope) -> OutboxRow:
    return OutboxRow(
        event_id=envelope.event_id,
        name=envelope.name,
        occurred_at=envelope.occurred_at,
        aggregate_type=envelope.aggregate_type,
        aggregate_id=envelope.aggregate_id,
        actor_id=envelope.actor_id,
        request_id=envelope.request_id,
        payload=_ENCODER.encode(envelope.payload).decode(),
    )


def decode(row: Mapping[str, Any]) -> Envelope:
    return Envelope(
        event_id=row["event_id"],
        name=row["name"],
        occurred_at=row["occurred_at"],
        aggregate_type=row["aggregate_type"],
        aggregate_id=row["aggregate_id"],
        actor_id=row["actor_id"],
        request_id=row["request_id"],
        payload=_DECODER.decode(row["payload"]),
    )
