"""Create an administrator, or make an existing account one (operators, from the CLI)."""

from __future__ import annotations

from dataclasses import dataclass

from application.identity.ports import PasswordHasher
from application.shared.ports import Clock, IdGenerator
from application.unit_of_work import UnitOfWork
from domain.identity.email import Email
from domain.identity.password_policy import check_password
from domain.identity.user import Role, User
from domain.shared.ids import UserId


@dataclass(frozen=True, slots=True)
class CreateAdminCommand:
    email: str
    password: str
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class CreateAdminResult:
    user: User
    created: bool


class CreateAdmin:
    """Ensure an active admin with this e-mail and password exists. Idempotent.

    - A new e-mail creates the account with the ``admin`` role.
    - An existing account is promoted, re-activated, and given this password if it does not
      already have it; running the command twice changes nothing the second time.
    """

    def __init__(self, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._ids = ids

    async def __call__(self, cmd: CreateAdminCommand) -> CreateAdminResult:
        email = Email.parse(cmd.email)
        check_password(cmd.password, email=email.value)
        async with self._uow as uow:
            now = self._clock.now()
            user = await uow.users.get_by_email(email)
            if user is None:
                user = User.register(
                    user_id=UserId(self._ids.new_id()),
                    email=email,
                    display_name=cmd.display_name,
                    password_hash=await self._hasher.hash(cmd.password),
                    role=Role.ADMIN,
                    now=now,
                )
                await uow.users.add(user)
                await uow.commit()
                return CreateAdminResult(user=user, created=True)
            user.promote(Role.ADMIN, now=now)
            user.activate(now=now)
            if not await self._hasher.verify(user.password_hash, cmd.password):
                user.change_password(await self._hasher.hash(cmd.password), now=now)
            await uow.users.save(user)
            await uow.commit()
        return CreateAdminResult(user=user, created=False)
