"""Log in with e-mail and password."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.errors import UnauthenticatedError
from application.identity.login_guard import LoginGuard
from application.identity.ports import PasswordHasher
from application.identity.session_tokens import ClientInfo, SessionTokens, TokenPair
from application.shared.ports import Clock
from application.unit_of_work import UnitOfWork
from domain.identity.email import EMAIL_MAX_LENGTH, Email, normalize_email
from domain.identity.user import User
from domain.shared.errors import InvalidValueError


@dataclass(frozen=True, slots=True)
class LogInCommand:
    email: str
    password: str
    client: ClientInfo = field(default_factory=ClientInfo)


class LogIn:
    """Exchange e-mail and password for a new session and its token pair.

    - Too many attempts from one client address are refused with ``RateLimitedError``
      (the throttle, a setting).
    - A locked e-mail is refused with ``RateLimitedError`` before the password is checked,
      whether or not an account has it (no user enumeration), even with the right password.
    - Unknown e-mail, wrong password and inactive account all raise the same
      ``UnauthenticatedError`` after one password check of similar cost, and count as a
      failure towards the lockout. Failures are committed, so they survive the error.
    - Success forgets earlier failures and upgrades a hash made with outdated parameters.
    """

    def __init__(
        self, uow: UnitOfWork, hasher: PasswordHasher, tokens: SessionTokens, guard: LoginGuard, clock: Clock
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._tokens = tokens
        self._guard = guard
        self._clock = clock

    async def __call__(self, cmd: LogInCommand) -> TokenPair:
        # The lockout key; no address is longer than 254 characters, so nothing is lost by the cut.
        key = normalize_email(cmd.email)[:EMAIL_MAX_LENGTH]
        await self._guard.throttle(cmd.client.ip)
        async with self._uow as uow:
            now = self._clock.now()
            await self._guard.refuse_if_locked(uow.login_attempts, key, now)
            user = await self._find_user(uow, cmd.email)
            verified = await self._hasher.verify(user.password_hash if user else None, cmd.password)
            if user is None or not verified or not user.is_active:
                await uow.login_attempts.record_failure(key, now)
                await uow.commit()
                raise UnauthenticatedError()
            await uow.login_attempts.clear(key)
            if self._hasher.needs_rehash(user.password_hash):
                user.upgrade_hash(await self._hasher.hash(cmd.password), now=now)
                await uow.users.save(user)
            pair = await self._tokens.open(uow.sessions, user, cmd.client)
            await uow.commit()
        return pair

    @staticmethod
    async def _find_user(uow: UnitOfWork, raw_email: str) -> User | None:
        try:
            return await uow.users.get_by_email(Email.parse(raw_email))
        except InvalidValueError:
            return None  # no account can have it; the caller still pays for a dummy check
