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
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before the first representable instant
        raise InvalidValueError(field, "is out of range (years 1 to 9999 in UTC)") from None
