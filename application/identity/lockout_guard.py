"""Refusing attempts on a locked e-mail: shared by every use-case that checks a password."""

from __future__ import annotations

import math
from datetime import datetime

from application.errors import RateLimitedError
from application.identity.ports import LoginAttemptRepository
from domain.identity.lockout import LockoutPolicy


async def refuse_if_locked(
    attempts: LoginAttemptRepository, policy: LockoutPolicy, email_key: str, now: datetime
) -> None:
    """Raise ``RateLimitedError`` (with the seconds left) while ``email_key`` is locked."""
    failures = await attempts.failures_since(email_key, now - policy.lookback)
    locked_until = policy.locked_until(failures, now)
    if locked_until is not None:
        raise RateLimitedError(math.ceil((locked_until - now).total_seconds()))
