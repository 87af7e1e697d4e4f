"""Revoke one of the caller's sessions (log out another device)."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import NotFoundError
from application.identity.ports import IdentityUnitOfWork
from application.shared.actor import Actor
from application.shared.audit import Audit
from application.shared.ports import Clock
from domain.identity.ids import SessionId
from domain.shared.audit import AuditType


@dataclass(frozen=True, slots=True)
class RevokeSessionCommand:
    actor: Actor
    session_id: SessionId


class RevokeSession:
    """Revoke a session of the actor's. Someone else's session, or an unknown id, is not found.

    Revoking an already revoked session of one's own succeeds (idempotent DELETE).
    """

    def __init__(self, uow: IdentityUnitOfWork, clock: Clock, audit: Audit) -> None:
        self._uow = uow
        self._clock = clock
        self._audit = audit

    async def __call__(self, cmd: RevokeSessionCommand) -> None:
        async with self._uow as uow:
            session = await uow.sessions.get(cmd.session_id)
            if session is None or session.user_id != cmd.actor.user_id:
                raise NotFoundError("session", cmd.session_id)
            session.revoke(now=self._clock.now(), reason="revoked_by_user")
            if await uow.sessions.revoke(session):  # once: revoking it again changes nothing
                await self._audit.record(
                    uow.audit_log,
                    AuditType.SESSION_REVOKED,
                    subject_id=session.user_id,
                    actor_id=cmd.actor.user_id,
                    detail={"session_id": str(session.id)},
                )
            await uow.commit()
