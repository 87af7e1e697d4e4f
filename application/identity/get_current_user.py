"""Read the caller's own account."""

from __future__ import annotations

from application.errors import UnauthenticatedError
from application.identity.ports import IdentityUnitOfWork
from application.shared.actor import Actor
from domain.identity.user import User


class GetCurrentUser:
    """The actor's user. A user deleted since authentication counts as unauthenticated."""

    def __init__(self, uow: IdentityUnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor) -> User:
        async with self._uow as uow:
            user = await uow.users.get(actor.user_id)
        if user is None:
            raise UnauthenticatedError()
        return user
