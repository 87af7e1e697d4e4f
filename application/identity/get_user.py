"""``GetUser``: one account, as much of it as the caller may see."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import NotFoundError
from application.identity.policy import UserPolicy
from application.identity.ports import IdentityUnitOfWork
from application.shared.actor import Actor
from application.shared.authorization import Action, allows, authorize
from domain.identity.user import User
from domain.shared.ids import UserId


@dataclass(frozen=True, slots=True)
class GetUserCommand:
    actor: Actor | None
    user_id: UserId


@dataclass(frozen=True, slots=True)
class UserReading:
    user: User
    private: bool
    """Whether the caller may see the private view (admin, or the account itself)."""


class GetUser:
    """Read an account: its public view (`id`, `display_name`, `created_at`) for any
    signed-in caller, its private view for an admin or the account itself; 404 if unknown."""

    def __init__(self, uow: IdentityUnitOfWork, policy: UserPolicy) -> None:
        self._uow = uow
        self._policy = policy

    async def __call__(self, cmd: GetUserCommand) -> UserReading:
        async with self._uow as uow:
            user = await uow.users.get(cmd.user_id)
        if user is None:
            raise NotFoundError("user", cmd.user_id)
        authorize(self._policy, cmd.actor, Action.READ, user)
        return UserReading(user=user, private=allows(self._policy, cmd.actor, Action.READ_PRIVATE, user))
