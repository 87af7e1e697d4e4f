"""Register a new account."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import AlreadyExistsError
from application.identity.ports import IdentityUnitOfWork, PasswordHasher
from application.identity.session_tokens import ClientInfo
from application.identity.throttles import IdentityThrottles
from application.shared.audit import Audit
from application.shared.ports import Clock, IdGenerator
from domain.identity.email import Email
from domain.identity.password_policy import check_password
from domain.identity.user import Role, User, display_name_for
from domain.shared.audit import AuditType
from domain.shared.ids import UserId


@dataclass(frozen=True, slots=True)
class RegisterUserCommand:
    email: str
    password: str
    display_name: str | None = None
    client: ClientInfo | None = None
    """Where the request comes from; ``None`` for code in this process (not throttled)."""


class RegisterUser:
    """Create a user account with the ``user`` role.

    - The e-mail is normalized (trimmed, lower-cased) and must be unused.
    - The password must pass the password policy (length, not common, not the e-mail).
    - Registrations from the network are throttled per client address and overall
      (``RateLimitedError``): each one costs a password hash.
    - The password is hashed before the unit of work opens, so no connection or write lock
      waits on it.
    - Records ``UserRegistered`` and the audit entry ``user.registered``.
    """

    def __init__(
        self,
        uow: IdentityUnitOfWork,
        hasher: PasswordHasher,
        throttles: IdentityThrottles,
        clock: Clock,
        ids: IdGenerator,
        audit: Audit,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._throttles = throttles
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def __call__(self, cmd: RegisterUserCommand) -> User:
        email = Email.parse(cmd.email)
        check_password(cmd.password, email=email.value)
        display_name_for(cmd.display_name, email)  # fail fast, before paying for a hash
        await self._throttles.registration(cmd.client)
        password_hash = await self._hasher.hash(cmd.password)
        async with self._uow as uow:
            if await uow.users.get_by_email(email) is not None:
                raise AlreadyExistsError("user", "email")
            user = User.register(
                user_id=UserId(self._ids.new_id()),
                email=email,
                display_name=cmd.display_name,
                password_hash=password_hash,
                role=Role.USER,
                now=self._clock.now(),
            )
            await uow.users.add(user)
            await self._audit.record(uow.audit_log, AuditType.USER_REGISTERED, subject_id=user.id, actor_id=user.id)
            await uow.commit()
        return user
