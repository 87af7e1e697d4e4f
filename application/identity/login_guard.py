"""What stands before a password check: the per-client throttle and the per-e-mail lockout."""

from __future__ import annotations

import math

from application.errors import RateLimitedError
from application.identity.ports import LoginAttemptRepository
from application.identity.rules import IdentityRules
from application.identity.throttles import IdentityThrottles
from application.shared.ports import Clock
from application.unit_of_work import UnitOfWork


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

    async def throttle(self, client_ip: str | None) -> None:
        await self._throttles.login(client_ip)

    async def admit(self, attempts: LoginAttemptRepository, email_key: str) -> int:
        """Reserve one password check for ``email_key``, or raise ``RateLimitedError`` (with
        the seconds left) while it is locked. Call it inside a unit of work and commit.

        The attempt is recorded as a failure before the password is checked, while the
        e-mail is locked against concurrent attempts, so however many arrive together (in
        any number of processes) at most ``threshold`` are checked inside a window. Its
        number is what ``LoginAttemptRepository.clear_through`` takes after a success.
        """
        await attempts.lock(email_key)
        now = self._clock.now()  # after the wait for the lock, so the window is measured right
        policy = self._rules.lockout
        locked_until = policy.locked_until(await attempts.failures_since(email_key, now - policy.lookback), now)
        if locked_until is not None:
            raise RateLimitedError(math.ceil((locked_until - now).total_seconds()))
        return await attempts.reserve(email_key, now)

    @staticmethod
    async def withdraw(uow: UnitOfWork, email_key: str, attempt: int) -> None:
        """Forget a reserved attempt whose password was never checked (the hasher shed it),
        so a busy server does not lock its users out."""
        async with uow:
            await uow.login_attempts.withdraw(email_key, attempt)
            await uow.commit()
