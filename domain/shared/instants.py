"""Instants in time: aware, and kept in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.shared.errors import InvalidValueError


def utc_instant(field: str, value: datetime) -> datetime:
    """``value`` as the same instant in UTC. A naive datetime names no instant, so it is refused
    (``InvalidValueError`` for ``field``) rather than guessed."""
    offset = value.utcoffset()
    if offset is None:
        raise InvalidValueError(field, "must carry a UTC offset")
    return value.astimezone(UTC)
