"""``SystemClock`` and ``FixedClock``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from application.shared.ports import Clock

__all__ = ["FixedClock", "SystemClock"]


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock(Clock):
    """A clock that moves only when told to: for tests and simulations."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta
