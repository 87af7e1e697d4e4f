"""What stands before a password check: the per-client throttle and the per-e-mail lockout."""

from __future__ import annotations

import math
from datetime import timedelta

from application.errors import RateLimitedError
from application.identity.ports import LoginAttemptRepository
from application.identity.rules import IdentityRules
from application.identity.session_tokens import ClientInfo
from application.identity.throttles import IdentityThrottles
from application.shared.ports import Clock

IN_FLIGHT_TIMEOUT = timedelta(seconds=60)
"""An attempt still in flight after this long belongs to a process that stopped mid-check:
it counts as failed (no check, even a queued one, takes this long)."""

BUSY_RETRY_AFTER = 1
"""Seconds to wait when the attempts in flight for an e-mail leave no room for another."""


class LoginGuard:
    """Refuses password checks that come too fast from one client, or for a locked e-mail.

    The throttle (``rules.login_throttle``, per client address) limits the CPU an attacker
    can burn on hashing; the lockout counts attempts in the database, so it holds across
    processes and without Redis.
    """

    def __init__(self, throttles: IdentityThrottles, rules: IdentityRules, clock: Clock) -> None:
        self._throttles = throttles
        self._rules = rules
        self._clock = clock

    async def throttle(self, client: ClientInfo | None) -> None:
        await self._throttles.login(client)

    async def admit(self, attempts: LoginAttemptRepository, email_key: str) -> int:
        """Reserve one password check for ``email_key``, or raise ``RateLimitedError``. Call
        it inside a unit of work and commit; the caller then settles the attempt by its
        number (``LoginAttemptRepository.fail``, ``clear_through`` or ``withdraw``).

        The e-mail is locked against concurrent attempts while this decides, so however
        many attempts arrive together, in any number of processes, at most ``threshold`` are
        checked before a lock starts. Attempts in flight count as failures for that: when
        they leave no room, the caller waits ``BUSY_RETRY_AFTER`` seconds for them to end
        (they may succeed), while failures that did lock the e-mail give the lock's rest.
        """
        if not await attempts.lock(email_key):
            raise RateLimitedError(BUSY_RETRY_AFTER)
        now = self._clock.now()  # after the wait for the lock, so the window is measured right
        policy = self._rules.lockout
        recent = await attempts.attempts_since(email_key, now - policy.lookback)
        abandoned = now - IN_FLIGHT_TIMEOUT
        failed = [a.at for a in recent if not a.in_flight or a.at <= abandoned]
        locked_until = policy.locked_until(failed, now)
        if locked_until is not None:
            raise RateLimitedError(math.ceil((locked_until - now).total_seconds()))
        if policy.locked_until([a.at for a in recent], now) is not None:
            raise RateLimitedError(BUSY_RETRY_AFTER)  # were those in flight all to fail, this one would be too many
        return await attempts.reserve(email_key, now)
