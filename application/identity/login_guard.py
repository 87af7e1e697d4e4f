"""What stands before a password check: the per-client throttle and the per-e-mail lockout."""

from __future__ import annotations

import math
from datetime import datetime

from application.errors import RateLimitedError
from application.identity.ports import LoginAttemptRepository
from application.identity.rules import IdentityRules
from application.shared.rate_limits import RateLimiter


class LoginGuard:
    """Refuses password checks that come too fast from one client, or for a locked e-mail.

    The throttle (``rules.login_throttle``, per client address, off when ``None``) limits the
    CPU an attacker can burn on hashing; the lockout counts failures in the database, so it
    holds across processes and without Redis.
    """

    def __init__(self, limiter: RateLimiter, rules: IdentityRules) -> None:
        self._limiter = limiter
        self._rules = rules

    async def throttle(self, client_ip: str | None) -> None:
        if self._rules.login_throttle is None or client_ip is None:
            return
        retry_after = await self._limiter.hit(f"login:{client_ip}", self._rules.login_throttle)
        if retry_after is not None:
            raise RateLimitedError(retry_after)

    async def refuse_if_locked(self, attempts: LoginAttemptRepository, email_key: str, now: datetime) -> None:
        """Raise ``RateLimitedError`` (with the seconds left) while ``email_key`` is locked."""
        policy = self._rules.lockout
        locked_until = policy.locked_until(await attempts.failures_since(email_key, now - policy.lookback), now)
        if locked_until is not None:
            raise RateLimitedError(math.ceil((locked_until - now).total_seconds()))
