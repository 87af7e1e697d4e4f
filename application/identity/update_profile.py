"""``UpdateProfile``: the caller changes their own profile."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import UnauthenticatedError
from application.identity.policy import UserPolicy
from application.identity.ports import IdentityUnitOfWork
from application.shared.actor import Actor
from application.shared.audit import Audit
from application.shared.authorization import Action, authorize
from application.shared.ports import Clock
from domain.identity.user import User
from domain.shared.audit import AuditType
from domain.shared.errors import InvalidValueError


@dataclass(frozen=True, slots=True)
class UpdateProfileCommand:
    actor: Actor
    display_name: str | None = None


def nothing_to_change() -> InvalidValueError:
    return InvalidValueError("body", "name at least one field to change")


class UpdateProfile:
    """Change the caller's own profile fields (today: `display_name`).

    - Profile fields only: role, activity and e-mail are not profile fields (an admin
      changes the first two through `UpdateUser`; the e-mail cannot change here).
    - A change that names no field is refused (422); the display name is trimmed and
      checked as at registration.
    """

    def __init__(self, uow: IdentityUnitOfWork, policy: UserPolicy, clock: Clock, audit: Audit) -> None:
        self._uow = uow
        self._policy = policy
        self._clock = clock
        self._audit = audit

    async def __call__(self, cmd: UpdateProfileCommand) -> User:
        if cmd.display_name is None:
            raise nothing_to_change()
        async with self._uow as uow:
            user = await uow.users.get_for_update(cmd.actor.user_id)
            if user is None:
                raise UnauthenticatedError()  # deleted since the request was authenticated
            authorize(self._policy, cmd.actor, Action.EDIT, user)
            before = user.display_name
            user.rename(cmd.display_name, now=self._clock.now())
            await uow.users.save(user)
            if user.display_name != before:
                await self._audit.record(
                    uow.audit_log,
                    AuditType.USER_UPDATED,
                    subject_id=user.id,
                    actor_id=cmd.actor.user_id,
                    detail={"display_name": True},
                )
            await uow.commit()
        return user
