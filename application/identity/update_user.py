"""``UpdateUser``: an admin changes an account's role, activity or profile."""

from __future__ import annotations

from dataclasses import dataclass

from application.identity.account_changes import end_sessions, load, refuse_last_admin
from application.identity.policy import UserPolicy
from application.identity.ports import IdentityUnitOfWork
from application.identity.update_profile import nothing_to_change
from application.shared.actor import Actor
from application.shared.audit import Audit
from application.shared.authorization import Action, authorize
from application.shared.ports import Clock
from domain.identity.user import Role, User
from domain.shared.audit import AuditType
from domain.shared.ids import UserId


@dataclass(frozen=True, slots=True)
class UpdateUserCommand:
    actor: Actor
    user_id: UserId
    role: Role | None = None
    is_active: bool | None = None
    display_name: str | None = None


class UpdateUser:
    """Change an account's `role`, `is_active` or `display_name`. Admins only (403 for
    anyone else); an unknown account is 404.

    - A change that names no field is refused (422); fields equal to the stored ones change
      nothing.
    - The last active admin cannot be demoted or deactivated (409), by themselves included.
      The change takes the admins' lock first, so of two admins demoting each other at once
      the second sees the first's change and is refused: never zero active admins.
    - A role change or a deactivation ends every session of the account at once (its
      access tokens get 401 on their next request, in every process).
    - Everything happens in one transaction: a refused change applies nothing. The audit
      entry `user.updated`, naming the fields that changed, is written in it too.
    """

    def __init__(self, uow: IdentityUnitOfWork, policy: UserPolicy, clock: Clock, audit: Audit) -> None:
        self._uow = uow
        self._policy = policy
        self._clock = clock
        self._audit = audit

    async def __call__(self, cmd: UpdateUserCommand) -> User:
        if cmd.role is None and cmd.is_active is None and cmd.display_name is None:
            raise nothing_to_change()
        async with self._uow as uow:
            authorize(self._policy, cmd.actor, Action.ADMINISTER, await load(uow, cmd.user_id))
            # The admins' lock comes before the account's, as in every use-case taking both.
            may_demote = cmd.role is Role.USER or cmd.is_active is False
            admins = await uow.users.lock_active_admins() if may_demote else []
            user = await load(uow, cmd.user_id, for_update=True)
            was_admin, now = user.is_active_admin, self._clock.now()
            before = (user.role, user.is_active, user.display_name)
            if cmd.display_name is not None:
                user.rename(cmd.display_name, now=now)
            role_changed = cmd.role is not None and user.change_role(cmd.role, now=now)
            deactivated = cmd.is_active is False and user.deactivate(now=now)
            if cmd.is_active:
                user.reactivate(now=now)
            if was_admin and not user.is_active_admin:
                refuse_last_admin(admins, user.id)
            await uow.users.save(user)
            if role_changed or deactivated:
                await end_sessions(uow, user.id, now, "deactivated" if deactivated else "role_changed")
            changed: dict[str, str | bool] = {}
            if user.role is not before[0]:
                changed["role"] = user.role.value
            if user.is_active is not before[1]:
                changed["is_active"] = user.is_active
            if user.display_name != before[2]:
                changed["display_name"] = True  # that it changed, not to what
            if changed:
                await self._audit.record(
                    uow.audit_log,
                    AuditType.USER_UPDATED,
                    subject_id=user.id,
                    actor_id=cmd.actor.user_id,
                    detail=changed,
                )
            await uow.commit()
        return user
