"""The lockout rule: too many failed logins for one e-mail lock it for a while."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """``threshold`` failures within ``window`` lock the e-mail for ``duration``.

    The lock runs from the failure that completed the run of ``threshold``. Attempts made
    while locked are refused before any password check and are not counted, so a lock ends
    on time even under a steady stream of guesses.
    """

    threshold: int = 5
    window: timedelta = timedelta(minutes=15)
    duration: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise ValueError("threshold must be at least 1")
        if self.window <= timedelta(0) or self.duration <= timedelta(0):
            raise ValueError("window and duration must be positive")

    @property
    def lookback(self) -> timedelta:
        """How far back failures can still matter for a lock in force now."""
        return self.window + self.duration

    def locked_until(self, failures: Iterable[datetime], now: datetime) -> datetime | None:
        """When the lock in force at ``now`` ends, or ``None`` when there is none."""
        times = sorted(t for t in failures if t <= now)
        until: datetime | None = None
        for last in range(self.threshold - 1, len(times)):
            if times[last] - times[last - self.threshold + 1] <= self.window:
                candidate = times[last] + self.duration
                if candidate > now and (until is None or candidate > until):
                    until = candidate
        return until
