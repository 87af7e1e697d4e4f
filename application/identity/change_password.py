"""Change the caller's password."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import UnauthenticatedError
from application.identity.login_guard import LoginGuard
from application.identity.ports import PasswordHasher
from application.shared.actor import Actor
from application.shared.ports import Clock
from application.unit_of_work import UnitOfWork
from domain.identity.password_policy import check_password
from domain.shared.errors import InvalidValueError


@dataclass(frozen=True, slots=True)
class ChangePasswordCommand:
    actor: Actor
    current_password: str
    new_password: str


class ChangePassword:
    """Replace the password after proving the current one.

    - A wrong current password is a field error and counts towards the e-mail's lockout,
      so a stolen access token cannot be used to guess the password without limit.
    - The new password must pass the password policy.
    - Every other session of the user is revoked; the current one stays.
    """

    def __init__(self, uow: UnitOfWork, hasher: PasswordHasher, guard: LoginGuard, clock: Clock) -> None:
        self._uow = uow
        self._hasher = hasher
        self._guard = guard
        self._clock = clock

    async def __call__(self, cmd: ChangePasswordCommand) -> None:
        async with self._uow as uow:
            user = await uow.users.get(cmd.actor.user_id)
            if user is None:
                raise UnauthenticatedError()
            now = self._clock.now()
            key = user.email.value
            await self._guard.refuse_if_locked(uow.login_attempts, key, now)
            if not await self._hasher.verify(user.password_hash, cmd.current_password):
                await uow.login_attempts.record_failure(key, now)
                await uow.commit()
                raise InvalidValueError("current_password", "is not your current password")
            check_password(cmd.new_password, email=key, field="new_password")
            user.change_password(await self._hasher.hash(cmd.new_password), now=now)
            await uow.users.save(user)
            for session in await uow.sessions.list_live(user.id, now):
                if session.id != cmd.actor.session_id:
                    session.revoke(now=now, reason="password_changed")
                    await uow.sessions.revoke(session)
            await uow.commit()
