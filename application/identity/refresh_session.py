"""Trade a refresh token for a new token pair (rotation with reuse detection)."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import UnauthenticatedError
from application.identity.ports import IdentityUnitOfWork
from application.identity.session_tokens import SessionTokens, TokenPair
from application.shared.audit import Audit
from application.shared.ports import Clock
from domain.identity.session import RefreshTokenReusedError, Session, SessionExpiredError
from domain.shared.audit import AuditType
from domain.shared.errors import VersionMismatchError


@dataclass(frozen=True, slots=True)
class RefreshSessionCommand:
    refresh_token: str


class RefreshSession:
    """Rotate the session's refresh token and issue a fresh access token.

    - Each refresh token works once. Presenting one that was already rotated away is reuse
      (RFC 9700): the whole session is revoked, so its newest token stops working too.
    - Of several concurrent refreshes with one token at most one wins; the losers are
      replays and revoke the session the same way.
    - Unknown, expired or revoked tokens, and tokens of inactive users, raise
      ``UnauthenticatedError``.
    - Audited with the change: ``session.refreshed``, or ``session.reuse_detected`` with the
      revocation (no actor then: whoever replayed the token is unknown).
    """

    def __init__(self, uow: IdentityUnitOfWork, tokens: SessionTokens, clock: Clock, audit: Audit) -> None:
        self._uow = uow
        self._tokens = tokens
        self._clock = clock
        self._audit = audit

    async def __call__(self, cmd: RefreshSessionCommand) -> TokenPair:
        async with self._uow as uow:
            session = await uow.sessions.get_by_token_hash(self._tokens.hash(cmd.refresh_token))
            if session is None:
                raise UnauthenticatedError()
            user = await uow.users.get(session.user_id)
            if user is None or not user.is_active:
                raise UnauthenticatedError()
            try:
                new_token = self._tokens.rotate(session, cmd.refresh_token)
                await uow.sessions.save(session)
            except SessionExpiredError:
                raise UnauthenticatedError() from None
            except (RefreshTokenReusedError, VersionMismatchError):
                await self._revoke_for_reuse(uow, session)
                raise UnauthenticatedError() from None
            pair = self._tokens.pair(session, user, new_token)
            await self._audit.record(
                uow.audit_log,
                AuditType.SESSION_REFRESHED,
                subject_id=user.id,
                actor_id=user.id,
                detail={"session_id": str(session.id)},
            )
            await uow.commit()
        return pair

    async def _revoke_for_reuse(self, uow: IdentityUnitOfWork, session: Session) -> None:
        session.revoke(now=self._clock.now(), reason="refresh_token_reuse")
        await uow.sessions.revoke(session)
        await self._audit.record(
            uow.audit_log,
            AuditType.SESSION_REUSE_DETECTED,
            subject_id=session.user_id,
            actor_id=None,
            detail={"session_id": str(session.id)},
        )
        await uow.commit()
