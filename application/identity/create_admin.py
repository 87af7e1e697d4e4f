"""Create an administrator, or make an existing account one (operators, from the CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.errors import AlreadyExistsError
from application.identity.ports import IdentityUnitOfWork, PasswordHasher
from application.shared.audit import Audit
from application.shared.ports import Clock, IdGenerator
from domain.identity.email import Email
from domain.identity.password_policy import check_password
from domain.identity.user import Role, User
from domain.shared.audit import AuditType
from domain.shared.errors import IllegalTransitionError
from domain.shared.ids import UserId

# Rounds of read, hash, apply before giving up on an account that keeps changing meanwhile.
_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class CreateAdminCommand:
    email: str
    password: str
    display_name: str | None = None
    promote_existing: bool = False
    """Allow promoting, re-activating or re-passwording an account that already exists."""


@dataclass(frozen=True, slots=True)
class CreateAdminResult:
    user: User
    created: bool
    changed: bool
    """False when the account already was an active admin with this password."""
    sessions_ended: int = 0


class CreateAdmin:
    """Ensure an active admin with this e-mail and password exists. Idempotent.

    - A new e-mail creates the account with the ``admin`` role.
    - An account that already is an active admin with this password is left as it is.
    - Any other existing account is changed only with ``promote_existing``, else
      ``AlreadyExistsError``: it is promoted, re-activated and given this password, and every
      live session of it ends, so a registrant's session never turns into an admin session.
    - The password is hashed and checked outside any transaction: the account is read in one,
      the change applied in a second only if the stored hash is still the one checked, else
      the round starts over (``IllegalTransitionError`` when the account keeps changing).
    """

    def __init__(
        self, uow: IdentityUnitOfWork, hasher: PasswordHasher, clock: Clock, ids: IdGenerator, audit: Audit
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def __call__(self, cmd: CreateAdminCommand) -> CreateAdminResult:
        email = Email.parse(cmd.email)
        check_password(cmd.password, email=email.value)
        for _ in range(_ATTEMPTS):
            result = await self._attempt(email, cmd)
            if result is not None:
                return result
        raise IllegalTransitionError("the account kept changing while create-admin ran; run it again")

    async def _attempt(self, email: Email, cmd: CreateAdminCommand) -> CreateAdminResult | None:
        """One round; ``None`` when the account changed between reading and writing it."""
        async with self._uow as uow:
            seen = await uow.users.get_by_email(email)
        if seen is None:
            return await self._create(email, cmd)
        return await self._update(seen, cmd)

    async def _create(self, email: Email, cmd: CreateAdminCommand) -> CreateAdminResult | None:
        password_hash = await self._hasher.hash(cmd.password)
        async with self._uow as uow:
            if await uow.users.get_by_email(email) is not None:
                return None
            user = User.register(
                user_id=UserId(self._ids.new_id()),
                email=email,
                display_name=cmd.display_name,
                password_hash=password_hash,
                role=Role.ADMIN,
                now=self._clock.now(),
            )
            await uow.users.add(user)
            await self._audit.record(
                uow.audit_log, AuditType.ADMIN_CREATED, subject_id=user.id, actor_id=None, detail={"created": True}
            )
            await uow.commit()
        return CreateAdminResult(user=user, created=True, changed=True)

    async def _update(self, seen: User, cmd: CreateAdminCommand) -> CreateAdminResult | None:
        if not cmd.promote_existing and not _is_active_admin(seen):
            raise AlreadyExistsError("user", "email")
        matches = await self._hasher.verify(seen.password_hash, cmd.password)
        if matches and _is_active_admin(seen):
            return CreateAdminResult(user=seen, created=False, changed=False)
        if not cmd.promote_existing:
            raise AlreadyExistsError("user", "email")
        new_hash = None if matches else await self._hasher.hash(cmd.password)
        return await self._apply(seen, new_hash)

    async def _apply(self, seen: User, new_hash: str | None) -> CreateAdminResult | None:
        """Promote, re-activate, re-password (when ``new_hash``) and end every live session."""
        async with self._uow as uow:
            user = await uow.users.get_for_update(seen.id)  # no login may open a session meanwhile
            if user is None or user.password_hash != seen.password_hash:
                return None
            now = self._clock.now()
            user.change_role(Role.ADMIN, now=now)
            user.reactivate(now=now)
            if new_hash is not None:
                user.change_password(new_hash, now=now)
            await uow.users.save(user)
            ended = await self._end_sessions(uow, user.id, now)
            await self._audit.record(
                uow.audit_log,
                AuditType.ADMIN_CREATED,
                subject_id=user.id,
                actor_id=None,
                detail={"created": False, "password_changed": new_hash is not None, "sessions_ended": ended},
            )
            await uow.commit()
        return CreateAdminResult(user=user, created=False, changed=True, sessions_ended=ended)

    @staticmethod
    async def _end_sessions(uow: IdentityUnitOfWork, user_id: UserId, now: datetime) -> int:
        sessions = await uow.sessions.list_live(user_id, now)
        for session in sessions:
            session.revoke(now=now, reason="changed_by_create_admin")
            await uow.sessions.revoke(session)
        return len(sessions)


def _is_active_admin(user: User) -> bool:
    return user.role is Role.ADMIN and user.is_active
