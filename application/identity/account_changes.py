"""Steps shared by the use-cases that change or remove an account."""

from __future__ import annotations

from datetime import datetime

from application.errors import NotFoundError
from application.identity.ports import IdentityUnitOfWork
from domain.identity.user import LastActiveAdminError, User
from domain.shared.ids import UserId


async def load(uow: IdentityUnitOfWork, user_id: UserId, *, for_update: bool = False) -> User:
    """The account, or ``NotFoundError``."""
    user = await (uow.users.get_for_update(user_id) if for_update else uow.users.get(user_id))
    if user is None:
        raise NotFoundError("user", user_id)
    return user


def refuse_last_admin(admins: list[UserId], user_id: UserId) -> None:
    """For a change that takes the active admin ``user_id`` away: ``LastActiveAdminError``
    unless ``admins`` (as ``lock_active_admins`` gave them) holds another."""
    if set(admins) <= {user_id}:
        raise LastActiveAdminError()


async def end_sessions(uow: IdentityUnitOfWork, user_id: UserId, now: datetime, reason: str) -> int:
    """Revoke every live session of the account; how many there were. Their access tokens
    stop working at once: authentication reads the session on every request."""
    sessions = await uow.sessions.list_live(user_id, now)
    for session in sessions:
        session.revoke(now=now, reason=reason)
        await uow.sessions.revoke(session)
    return len(sessions)
