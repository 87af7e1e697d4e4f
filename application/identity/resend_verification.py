"""Ask for a new link that verifies the caller's e-mail address."""

from __future__ import annotations

from application.errors import UnauthenticatedError
from application.identity.ports import IdentityUnitOfWork
from application.identity.throttles import IdentityThrottles
from application.shared.actor import Actor
from application.shared.ports import Clock


class ResendVerification:
    """Have a fresh verification link mailed to the caller's address.

    - Records ``EmailVerificationRequested``; a background job mails the link,
      ``{PORTSIDE_PUBLIC_URL}/verify-email?token=...`` (valid 48 hours, used once). Links
      mailed before keep working until they expire.
    - An address verified already gets nothing, and the answer is the same.
    - Throttled per account (``RateLimitedError``), so nobody floods their own or anyone's
      mailbox with links.
    """

    def __init__(self, uow: IdentityUnitOfWork, throttles: IdentityThrottles, clock: Clock) -> None:
        self._uow = uow
        self._throttles = throttles
        self._clock = clock

    async def __call__(self, actor: Actor) -> None:
        await self._throttles.verification_resend(actor.user_id)
        async with self._uow as uow:
            user = await uow.users.get_for_update(actor.user_id)
            if user is None:
                raise UnauthenticatedError()
            if user.request_email_verification(now=self._clock.now()):
                await uow.users.save(user)
                await uow.commit()
