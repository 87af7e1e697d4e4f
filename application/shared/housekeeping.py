"""``CleanUp``: the periodic deletion of rows nobody needs any more.

What goes, and when (README, Background jobs):

- sessions that ended (expired, idle too long, or revoked) more than ``kept`` ago, with
  their refresh-token history;
- failed logins older than the lockout window plus the lockout itself, which can no
  longer count towards a lockout;
- mailed link tokens that expired more than ``kept`` ago, and password-reset requests
  older than ``kept``;
- outbox rows relayed more than ``kept`` ago;
- finished jobs (succeeded, or dead letters) older than ``kept``, with their handled marks
  (in one transaction);
- audit entries older than ``audit_log``.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from application.shared.ports import Clock

__all__ = ["CleanUp", "Housekeeper", "RetentionRules"]


@dataclass(frozen=True, slots=True)
class RetentionRules:
    kept: timedelta = timedelta(days=7)
    """How long ended sessions, used links, relayed events and finished jobs stay listed."""
    login_failures: timedelta = timedelta(minutes=30)
    """The lockout window plus the lockout duration: older failures count for nothing."""
    audit_log: timedelta = timedelta(days=365)
    """How long audit entries are kept."""


class Housekeeper(Protocol):
    @abstractmethod
    async def purge(self, now: datetime, rules: RetentionRules) -> dict[str, int]:
        """Delete what the rules let go at ``now``; the rows deleted, per table. Each table
        is its own short transaction: a cleanup never holds locks across tables."""


class CleanUp:
    def __init__(self, housekeeper: Housekeeper, clock: Clock, rules: RetentionRules) -> None:
        self._housekeeper = housekeeper
        self._clock = clock
        self._rules = rules

    async def __call__(self) -> dict[str, int]:
        return await self._housekeeper.purge(self._clock.now(), self._rules)
