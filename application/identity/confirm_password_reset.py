"""Set a new password with the token of a reset link."""

from __future__ import annotations

from dataclasses import dataclass

from application.identity.links import InvalidLinkError
from application.identity.ports import IdentityUnitOfWork, LinkTokens, PasswordHasher
from application.shared.audit import Audit
from application.shared.ports import Clock
from domain.identity.link_token import LinkPurpose
from domain.identity.password_policy import check_password
from domain.identity.user import User
from domain.shared.audit import AuditType

_RESET = LinkPurpose.PASSWORD_RESET


@dataclass(frozen=True, slots=True)
class ConfirmPasswordResetCommand:
    token: str
    new_password: str


class ConfirmPasswordReset:
    """Replace the password of the account a reset link was mailed to.

    - An unknown, used or expired token is ``InvalidLinkError``, the same for all three.
    - The new password must pass the password policy (a field error on ``new_password``);
      the token stays usable then.
    - A token works once, also under concurrency: it is consumed by compare-and-set in the
      transaction that changes the password, so of concurrent confirmations exactly one
      succeeds. The account's other unused reset links stop working too.
    - Every session of the account ends, at once, in every process.
    - The password is hashed outside any unit of work.
    """

    def __init__(
        self, uow: IdentityUnitOfWork, hasher: PasswordHasher, tokens: LinkTokens, clock: Clock, audit: Audit
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._tokens = tokens
        self._clock = clock
        self._audit = audit

    async def __call__(self, cmd: ConfirmPasswordResetCommand) -> None:
        token_hash = self._tokens.digest(cmd.token)
        user = await self._holder(token_hash)
        check_password(cmd.new_password, email=user.email.value, field="new_password")
        new_hash = await self._hasher.hash(cmd.new_password)
        async with self._uow as uow:
            now = self._clock.now()
            user_id = await uow.link_tokens.consume(token_hash, _RESET, now)
            current = None if user_id is None else await uow.users.get_for_update(user_id)
            if current is None or not current.is_active:
                raise InvalidLinkError()  # leaving without commit un-consumes the token
            current.change_password(new_hash, now=now)
            await uow.users.save(current)
            await uow.link_tokens.consume_all(current.id, _RESET, now)
            for session in await uow.sessions.list_live(current.id, now):
                session.revoke(now=now, reason="password_reset")
                await uow.sessions.revoke(session)
            await self._audit.record(
                uow.audit_log,
                AuditType.PASSWORD_CHANGED,
                subject_id=current.id,
                actor_id=current.id,  # proved by the mailed link
                detail={"reset": True},
            )
            await uow.commit()

    async def _holder(self, token_hash: str) -> User:
        """The active account a usable token was mailed to, or ``InvalidLinkError``."""
        async with self._uow as uow:
            token = await uow.link_tokens.find(token_hash, _RESET)
            usable = token is not None and token.usable(self._clock.now())
            user = await uow.users.get(token.user_id) if token is not None and usable else None
        if user is None or not user.is_active:
            raise InvalidLinkError()
        return user
