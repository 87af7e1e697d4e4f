"""Prove an account's e-mail address with the token of a verification link."""

from __future__ import annotations

from dataclasses import dataclass

from application.identity.links import InvalidLinkError
from application.identity.ports import IdentityUnitOfWork, LinkTokens
from application.shared.ports import Clock
from domain.identity.link_token import LinkPurpose


@dataclass(frozen=True, slots=True)
class VerifyEmailCommand:
    token: str


class VerifyEmail:
    """Mark the address of the account a verification link was mailed to as verified.

    - An unknown, used or expired token is ``InvalidLinkError``, the same for all three.
    - A token works once (compare-and-set, as a reset token); another unused link of the
      account keeps working and changes nothing more.
    - Records ``EmailVerified`` the first time.
    """

    def __init__(self, uow: IdentityUnitOfWork, tokens: LinkTokens, clock: Clock) -> None:
        self._uow = uow
        self._tokens = tokens
        self._clock = clock

    async def __call__(self, cmd: VerifyEmailCommand) -> None:
        token_hash = self._tokens.digest(cmd.token)
        async with self._uow as uow:
            now = self._clock.now()
            user_id = await uow.link_tokens.consume(token_hash, LinkPurpose.EMAIL_VERIFICATION, now)
            user = None if user_id is None else await uow.users.get_for_update(user_id)
            if user is None or not user.is_active:
                raise InvalidLinkError()  # leaving without commit un-consumes the token
            if user.verify_email(now=now):
                await uow.users.save(user)
            await uow.commit()
