"""End the caller's session, or all of their sessions."""

from __future__ import annotations

from dataclasses import dataclass

from application.identity.ports import IdentityUnitOfWork
from application.shared.actor import Actor
from application.shared.audit import Audit
from application.shared.ports import Clock
from domain.shared.audit import AuditType


@dataclass(frozen=True, slots=True)
class LogOutCommand:
    actor: Actor
    all_sessions: bool = False


class LogOut:
    """Revoke the current session (or every live session of the user).

    Access tokens of a revoked session are refused from the next request on, by every
    process, because authentication reads the session from the store.
    """

    def __init__(self, uow: IdentityUnitOfWork, clock: Clock, audit: Audit) -> None:
        self._uow = uow
        self._clock = clock
        self._audit = audit

    async def __call__(self, cmd: LogOutCommand) -> None:
        async with self._uow as uow:
            now = self._clock.now()
            if cmd.all_sessions:
                sessions = await uow.sessions.list_live(cmd.actor.user_id, now)
            else:
                current = await uow.sessions.get(cmd.actor.session_id)
                sessions = [current] if current is not None else []
            for session in sessions:
                session.revoke(now=now, reason="logout")
                await uow.sessions.revoke(session)
            await self._audit.record(
                uow.audit_log,
                AuditType.LOGOUT,
                subject_id=cmd.actor.user_id,
                actor_id=cmd.actor.user_id,
                detail={"all_sessions": cmd.all_sessions, "sessions_ended": len(sessions)},
            )
            await uow.commit()
