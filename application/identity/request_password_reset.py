"""Ask for a password-reset link."""

from __future__ import annotations

from dataclasses import dataclass

from application.identity.ports import IdentityUnitOfWork
from application.identity.session_tokens import ClientInfo
from application.identity.throttles import IdentityThrottles
from application.shared.ports import Clock
from domain.identity.email import Email


@dataclass(frozen=True, slots=True)
class RequestPasswordResetCommand:
    email: str
    client: ClientInfo | None = None
    """Where the request comes from; ``None`` for code in this process (not throttled)."""


class RequestPasswordReset:
    """Have a single-use reset link mailed to an account's address.

    - The answer is the same whether or not an active account has the address, and takes
      about as long: no password is hashed and no mail is sent while the caller waits. For
      an active account ``PasswordResetRequested`` is committed, and a background job mails
      the link, ``{PORTSIDE_PUBLIC_URL}/reset-password?token=...`` (valid 30 minutes, used
      once), for the client application to post the token and the new password back.
    - Requests are throttled per client address and per e-mail address, known or not
      (``RateLimitedError``), so neither a client nor a mailbox can be flooded.
    - A malformed address is a field error (``email``): it says nothing about accounts.
    """

    def __init__(self, uow: IdentityUnitOfWork, throttles: IdentityThrottles, clock: Clock) -> None:
        self._uow = uow
        self._throttles = throttles
        self._clock = clock

    async def __call__(self, cmd: RequestPasswordResetCommand) -> None:
        email = Email.parse(cmd.email)
        await self._throttles.password_reset(cmd.client, email.value)
        async with self._uow as uow:
            found = await uow.users.get_by_email(email)
            if found is None or not found.is_active:
                return
            # Held to the commit, so the write that announces the request cannot undo a
            # password change committed meanwhile.
            user = await uow.users.get_for_update(found.id)
            if user is None or not user.is_active:
                return
            user.request_password_reset(now=self._clock.now())
            await uow.users.save(user)
            await uow.commit()
