"""Change the caller's password."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from application.errors import DependencyUnavailableError, UnauthenticatedError
from application.identity.login_guard import LoginGuard
from application.identity.ports import IdentityUnitOfWork, LoginAttemptRepository, PasswordHasher
from application.shared.actor import Actor
from application.shared.audit import Audit
from application.shared.ports import Clock
from domain.identity.password_policy import check_password
from domain.identity.user import User
from domain.shared.audit import AuditType
from domain.shared.errors import InvalidValueError


@dataclass(frozen=True, slots=True)
class ChangePasswordCommand:
    actor: Actor
    current_password: str
    new_password: str


def _wrong_current_password() -> InvalidValueError:
    return InvalidValueError("current_password", "is not your current password")


class ChangePassword:
    """Replace the password after proving the current one.

    - The new password must pass the password policy; that is checked first, and costs no
      attempt.
    - A wrong current password is a field error and counts towards the e-mail's lockout
      (reserved before the check, as a login's), so a stolen access token cannot be used to
      guess the password without limit.
    - Every other session of the user is revoked; the current one stays.
    - No password is hashed while a unit of work is open.
    """

    def __init__(
        self, uow: IdentityUnitOfWork, hasher: PasswordHasher, guard: LoginGuard, clock: Clock, audit: Audit
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._guard = guard
        self._clock = clock
        self._audit = audit

    async def __call__(self, cmd: ChangePasswordCommand) -> None:
        async with self._uow as uow:
            user = await uow.users.get(cmd.actor.user_id)
            if user is None:
                raise UnauthenticatedError()
            check_password(cmd.new_password, email=user.email.value, field="new_password")
            attempt = await self._guard.admit(uow.login_attempts, user.email.value)
            await uow.commit()
        try:
            verified = await self._hasher.verify(user.password_hash, cmd.current_password)
            new_hash = await self._hasher.hash(cmd.new_password) if verified else None
        except DependencyUnavailableError:
            await self._settle(lambda attempts: attempts.withdraw(user.email.value, attempt))  # never checked
            raise
        if new_hash is None:
            await self._settle(lambda attempts: attempts.fail(user.email.value, attempt))
            raise _wrong_current_password()
        async with self._uow as uow:
            current = await uow.users.get_for_update(user.id)  # no login may open a session meanwhile
            if current is None or current.password_hash != user.password_hash:
                # Changed meanwhile: what we checked is not the current password any more.
                await uow.login_attempts.fail(user.email.value, attempt)
                await uow.commit()
                raise _wrong_current_password()
            await uow.login_attempts.clear_through(user.email.value, attempt)
            await self._apply(uow, current, new_hash, cmd.actor)
            await self._audit.record(
                uow.audit_log, AuditType.PASSWORD_CHANGED, subject_id=current.id, actor_id=cmd.actor.user_id
            )
            await uow.commit()

    async def _settle(self, settle: Callable[[LoginAttemptRepository], Awaitable[None]]) -> None:
        async with self._uow as uow:
            await settle(uow.login_attempts)
            await uow.commit()

    async def _apply(self, uow: IdentityUnitOfWork, user: User, new_hash: str, actor: Actor) -> None:
        now = self._clock.now()
        user.change_password(new_hash, now=now)
        await uow.users.save(user)
        for session in await uow.sessions.list_live(user.id, now):
            if session.id != actor.session_id:
                session.revoke(now=now, reason="password_changed")
                await uow.sessions.revoke(session)
