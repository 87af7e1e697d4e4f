"""Ask for a password-reset link."""

from __future__ import annotations

from dataclasses import dataclass

from application.identity.ports import IdentityUnitOfWork
from application.identity.session_tokens import ClientInfo
from application.identity.throttles import IdentityThrottles
from application.shared.ports import Clock, IdGenerator
from domain.identity.email import Email
from domain.identity.password_reset import PasswordResetRequest, PasswordResetRequestId


@dataclass(frozen=True, slots=True)
class RequestPasswordResetCommand:
    email: str
    client: ClientInfo | None = None
    """Where the request comes from; ``None`` for code in this process (not throttled)."""


class RequestPasswordReset:
    """Have a single-use reset link mailed to an account's address.

    - The answer is the same whether or not an active account has the address, and so is
      the work behind it: no account is looked up, no password hashed and no mail sent while
      the caller waits. Every request is stored (``password_reset_requests``) and commits
      ``password_reset.requested`` with the normalized address, in one transaction. A
      background job then looks the account up and, if an active one has the address, mails
      ``{PORTSIDE_PUBLIC_URL}/reset-password?token=...`` (valid 30 minutes, used once), for
      the client application to post the token and the new password back.
    - Requests are throttled per client address and per e-mail address, known or not
      (``RateLimitedError``), so neither a client nor a mailbox can be flooded.
    - A malformed address is a field error (``email``): it says nothing about accounts.
    """

    def __init__(self, uow: IdentityUnitOfWork, throttles: IdentityThrottles, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._throttles = throttles
        self._clock = clock
        self._ids = ids

    async def __call__(self, cmd: RequestPasswordResetCommand) -> None:
        email = Email.parse(cmd.email)
        await self._throttles.password_reset(cmd.client, email.value)
        request = PasswordResetRequest.record(
            request_id=PasswordResetRequestId(self._ids.new_id()), email=email, now=self._clock.now()
        )
        async with self._uow as uow:
            await uow.password_reset_requests.add(request)
            await uow.commit()
