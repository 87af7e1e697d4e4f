"""The one encoding of an event envelope at rest: the SQL outbox row and the in-memory one,
and (``to_json``) the single document a job record or an arq job carries.

A row has one entry per ``Envelope`` field (``COLUMNS``, the ``outbox`` table's columns
that describe the event); the payload is JSON text, the same bytes on PostgreSQL, SQLite
and in memory.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import msgspec

from application.shared.events import Envelope

__all__ = ["COLUMNS", "OutboxRow", "decode", "encode", "from_json", "to_json"]

COLUMNS = tuple(field.name for field in dataclasses.fields(Envelope))
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(dict[str, Any])
_ENVELOPE = msgspec.json.Decoder(Envelope)

OutboxRow = dict[str, Any]


class _Columns(Protocol):
    """A stored row, read by column name (a dict, a driver record, a SQLAlchemy mapping)."""

    def __getitem__(self, name: str, /) -> Any: ...


def encode(envelope: Envelope) -> OutboxRow:
    row = {name: getattr(envelope, name) for name in COLUMNS}
    row["payload"] = _ENCODER.encode(envelope.payload).decode()
    return row


def decode(row: _Columns) -> Envelope:
    fields = {name: row[name] for name in COLUMNS}
    fields["payload"] = _DECODER.decode(fields["payload"])
    return Envelope(**fields)


def to_json(envelope: Envelope) -> str:
    """The whole envelope as one JSON document: a job record's event, an arq job's argument."""
    return _ENCODER.encode(envelope).decode()


def from_json(document: str | bytes) -> Envelope:
    return _ENVELOPE.decode(document)
