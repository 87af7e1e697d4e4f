"""Log in with e-mail and password."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from application.errors import DependencyUnavailableError, RateLimitedError, UnauthenticatedError
from application.identity.login_guard import LoginGuard
from application.identity.ports import IdentityUnitOfWork, LoginAttemptRepository, PasswordHasher
from application.identity.session_tokens import ClientInfo, SessionTokens, TokenPair
from application.shared.audit import Audit
from application.shared.ports import Clock
from domain.identity.email import EMAIL_MAX_LENGTH, Email, normalize_email
from domain.identity.user import User
from domain.shared.audit import AuditType
from domain.shared.errors import InvalidValueError
from domain.shared.ids import UserId


@dataclass(frozen=True, slots=True)
class LogInCommand:
    email: str
    password: str
    client: ClientInfo | None = None
    """Where the attempt comes from; ``None`` for code in this process (not throttled)."""


@dataclass(frozen=True, slots=True)
class _Checked:
    """A password check that passed: the account as it was read, and a stronger hash if due."""

    user: User
    upgraded_hash: str | None


class LogIn:
    """Exchange e-mail and password for a new session and its token pair.

    - Too many attempts from one client address are refused with ``RateLimitedError``
      (the throttle, a setting; callers in this process, with no ``client``, are not
      throttled).
    - A locked e-mail is refused with ``RateLimitedError`` before the password is checked,
      whether or not an account has it (no user enumeration), even with the right password.
      Each attempt is reserved (committed, in flight) before its check, so concurrent
      attempts cannot outrun the lockout; while those in flight leave no room, another
      waits a second (``RateLimitedError``).
    - Unknown e-mail, wrong password and inactive account all raise the same
      ``UnauthenticatedError`` after one password check of similar cost, and the attempt
      stays as a failure.
    - Success forgets the failures reserved before it (not those after) and upgrades a hash
      made with outdated parameters.
    - No password is hashed while a unit of work is open.
    - Audited in the transaction of each outcome: ``login.failed`` with the failure,
      ``login.succeeded`` with the session, and ``login.locked`` (refused by the lockout) in
      its own short transaction. The subject is the account, or ``None`` for an unknown
      e-mail; the actor is the account only once its password was proved.
    """

    def __init__(
        self,
        uow: IdentityUnitOfWork,
        hasher: PasswordHasher,
        tokens: SessionTokens,
        guard: LoginGuard,
        clock: Clock,
        audit: Audit,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._tokens = tokens
        self._guard = guard
        self._clock = clock
        self._audit = audit

    async def __call__(self, cmd: LogInCommand) -> TokenPair:
        # The lockout key; no address is longer than 254 characters, so nothing is lost by the cut.
        key = normalize_email(cmd.email)[:EMAIL_MAX_LENGTH]
        await self._guard.throttle(cmd.client)
        try:
            async with self._uow as uow:
                attempt = await self._guard.admit(uow.login_attempts, key)
                user = await self._find_user(uow, cmd.email)
                await uow.commit()
        except RateLimitedError as refused:
            await self._record_locked(cmd.email, refused)
            raise
        subject = None if user is None else user.id
        try:
            checked = await self._check(user, cmd.password)
        except DependencyUnavailableError:
            await self._settle(lambda attempts: attempts.withdraw(key, attempt))  # never checked: no failure
            raise
        except UnauthenticatedError:
            await self._fail(key, attempt, subject)
            raise
        return await self._open_session(key, attempt, checked, cmd.client or ClientInfo())

    async def _open_session(self, key: str, attempt: int, checked: _Checked, client: ClientInfo) -> TokenPair:
        async with self._uow as uow:
            # Held until commit: a password change or promotion cannot slip in before the
            # session exists (it would not end it) or be undone by it.
            current = await uow.users.get_for_update(checked.user.id)
            if current is None or not current.is_active or current.password_hash != checked.user.password_hash:
                # Changed while we checked: what passed is not the account's password any more.
                await uow.login_attempts.fail(key, attempt)
                await self._audit.record(
                    uow.audit_log, AuditType.LOGIN_FAILED, subject_id=checked.user.id, actor_id=None
                )
                await uow.commit()
                raise UnauthenticatedError()
            await uow.login_attempts.clear_through(key, attempt)
            if checked.upgraded_hash is not None:
                current.upgrade_hash(checked.upgraded_hash, now=self._clock.now())
                await uow.users.save(current)
            pair = await self._tokens.open(uow.sessions, current, client)
            await self._audit.record(
                uow.audit_log,
                AuditType.LOGIN_SUCCEEDED,
                subject_id=current.id,
                actor_id=current.id,
                detail={"session_id": str(pair.session_id)},
            )
            await uow.commit()
        return pair

    async def _fail(self, key: str, attempt: int, subject: UserId | None) -> None:
        """The attempt stays as a failure, and ``login.failed`` is written with it."""
        async with self._uow as uow:
            await uow.login_attempts.fail(key, attempt)
            await self._audit.record(uow.audit_log, AuditType.LOGIN_FAILED, subject_id=subject, actor_id=None)
            await uow.commit()

    async def _record_locked(self, raw_email: str, refused: RateLimitedError) -> None:
        async with self._uow as uow:
            user = await self._find_user(uow, raw_email)
            await self._audit.record(
                uow.audit_log,
                AuditType.LOGIN_LOCKED,
                subject_id=None if user is None else user.id,
                actor_id=None,
                detail={"retry_after": refused.retry_after},
            )
            await uow.commit()

    async def _settle(self, settle: Callable[[LoginAttemptRepository], Awaitable[None]]) -> None:
        async with self._uow as uow:
            await settle(uow.login_attempts)
            await uow.commit()

    async def _check(self, user: User | None, password: str) -> _Checked:
        """Verify outside any unit of work; ``UnauthenticatedError`` unless it passes."""
        verified = await self._hasher.verify(user.password_hash if user else None, password)
        if user is None or not verified or not user.is_active:
            raise UnauthenticatedError()
        upgraded = None
        if self._hasher.needs_rehash(user.password_hash):
            with contextlib.suppress(DependencyUnavailableError):  # a busy pool upgrades it next time
                upgraded = await self._hasher.hash(password)
        return _Checked(user=user, upgraded_hash=upgraded)

    @staticmethod
    async def _find_user(uow: IdentityUnitOfWork, raw_email: str) -> User | None:
        try:
            return await uow.users.get_by_email(Email.parse(raw_email))
        except InvalidValueError:
            return None  # no account can have it; the caller still pays for a dummy check
