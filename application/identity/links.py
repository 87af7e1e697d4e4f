"""Links mailed to an account's address: minted by a job, stored as digests, used once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlencode
from uuid import UUID

from application.errors import ApplicationError, NotFoundError
from application.identity.ports import IdentityUnitOfWork, LinkTokens
from application.identity.rules import IdentityRules
from application.shared.events import Envelope
from application.shared.ports import Clock
from domain.identity.email import Email
from domain.identity.link_token import LinkPurpose, LinkToken
from domain.identity.user import User
from domain.shared.ids import UserId

__all__ = ["LINK_PATHS", "InvalidLinkError", "IssuedLink", "LinkIssuer"]

LINK_PATHS: Final = {
    LinkPurpose.PASSWORD_RESET: "/reset-password",
    LinkPurpose.EMAIL_VERIFICATION: "/verify-email",
}
"""Where each link points under ``PORTSIDE_PUBLIC_URL``: pages of the client application,
which post the token to ``/api/v1/auth/password-reset/confirm`` or ``/auth/verify-email``."""


class InvalidLinkError(ApplicationError):
    """The token of a mailed link is unknown, used already, or expired. Deliberately says
    no more: which of them it was would help nobody but someone guessing tokens."""

    def __init__(self) -> None:
        super().__init__("the link is invalid or has expired")


@dataclass(frozen=True, slots=True)
class IssuedLink:
    to: str
    """The account's address as it is stored now."""
    url: str
    token: str
    valid_for: timedelta

    def lifetime_text(self) -> str:
        """``30 minutes``, ``48 hours``: for the text of the e-mail."""
        minutes = int(self.valid_for.total_seconds() // 60)
        if minutes % 60 or minutes < 120:
            return f"{minutes} minutes" if minutes != 1 else "1 minute"
        return f"{minutes // 60} hours"


class LinkIssuer:
    """The link a job mails for one event, in the job's own unit of work.

    The token is derived from the event id (``LinkTokens.mint``), and its digest is stored
    only if absent, so a job that runs again after a crash stores nothing new and mails the
    very same link. The lifetime starts when the digest is first stored. A run that finds
    the link stored already mails it again only while it can still be used: an admin's
    retry of a dead letter an hour later must not mail a dead link.
    """

    def __init__(self, uow: IdentityUnitOfWork, tokens: LinkTokens, clock: Clock, rules: IdentityRules) -> None:
        self._uow = uow
        self._tokens = tokens
        self._clock = clock
        self._rules = rules

    async def issue(self, purpose: LinkPurpose, envelope: Envelope) -> IssuedLink | None:
        """The link for the account ``envelope`` names; ``None``, storing nothing, when there
        is nothing to mail: no active account (a reset request names an address, which may
        belong to none), an address verified already (verification), or a link an earlier
        run stored for this event that was used or has expired since."""
        token = self._tokens.mint(purpose, envelope.event_id)
        async with self._uow as uow:
            user = await _account(uow, envelope.payload)
            if user is None or not user.is_active:
                return None
            if purpose is LinkPurpose.EMAIL_VERIFICATION and user.email_verified:
                return None
            now, lifetime = self._clock.now(), self._lifetime(purpose)
            stored = LinkToken(
                token_hash=self._tokens.digest(token),
                purpose=purpose,
                user_id=user.id,
                event_id=envelope.event_id,
                expires_at=now + lifetime,
            )
            try:
                added = await uow.link_tokens.add(stored)
            except NotFoundError:  # the account was deleted meanwhile
                return None
            if not added and not await _still_usable(uow, stored, now):
                return None
            await uow.commit()
        url = f"{self._rules.public_url}{LINK_PATHS[purpose]}?{urlencode({'token': token})}"
        return IssuedLink(to=user.email.value, url=url, token=token, valid_for=lifetime)

    def _lifetime(self, purpose: LinkPurpose) -> timedelta:
        if purpose is LinkPurpose.PASSWORD_RESET:
            return self._rules.reset_link_lifetime
        return self._rules.verification_link_lifetime


async def _account(uow: IdentityUnitOfWork, payload: Mapping[str, object]) -> User | None:
    """The account an event names: by id, or by address for a reset request, which names
    only the address it was asked for (and is recorded the same whether or not one has it)."""
    if "user_id" in payload:
        return await uow.users.get(UserId(_uuid(payload["user_id"])))
    return await uow.users.get_by_email(Email.parse(str(payload["email"])))


async def _still_usable(uow: IdentityUnitOfWork, minted: LinkToken, now: datetime) -> bool:
    """Whether the link an earlier run stored under ``minted``'s digest may be mailed again:
    it is this account's, unused and unexpired."""
    earlier = await uow.link_tokens.find(minted.token_hash, minted.purpose)
    return earlier is not None and earlier.user_id == minted.user_id and earlier.usable(now)


def _uuid(value: object) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
