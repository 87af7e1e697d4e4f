"""Small builders and an in-memory application for use-case tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from adapters.memory.database import InMemoryDatabase
from adapters.memory.identity import InMemoryIdentityUnitOfWork
from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.security.argon2_hasher import Argon2Parameters, Argon2PasswordHasher
from adapters.security.jwt_issuer import JwtSettings, JwtTokenIssuer
from adapters.system.clock import FixedClock
from adapters.system.ids import Uuid7Generator
from application.identity.authenticate_access_token import AuthenticateAccessToken
from application.identity.change_password import ChangePassword
from application.identity.create_admin import CreateAdmin
from application.identity.get_current_user import GetCurrentUser
from application.identity.list_sessions import ListSessions
from application.identity.log_in import LogIn
from application.identity.log_out import LogOut
from application.identity.login_guard import LoginGuard
from application.identity.refresh_session import RefreshSession
from application.identity.register_user import RegisterUser
from application.identity.revoke_session import RevokeSession
from application.identity.rules import IdentityRules
from application.identity.session_tokens import SessionTokens
from application.identity.throttles import IdentityThrottles
from application.shared.rate_limits import Throttle
from domain.identity.lockout import LockoutPolicy
from tests.support.settings import TEST_SECRET

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
FAST_ARGON2 = Argon2Parameters(memory_kib=1024, iterations=1, lanes=1)


@dataclass
class IdentityApp:
    """Every identity use-case wired to in-memory adapters, a fixed clock and real crypto."""

    rules: IdentityRules = field(default_factory=IdentityRules)
    clock: FixedClock = field(default_factory=lambda: FixedClock(T0))
    database: InMemoryDatabase = field(default_factory=InMemoryDatabase)

    def __post_init__(self) -> None:
        self.ids = Uuid7Generator()
        self.hasher = Argon2PasswordHasher(FAST_ARGON2)
        self.issuer = JwtTokenIssuer(JwtSettings(secret=TEST_SECRET), self.clock)
        self.tokens = SessionTokens(self.issuer, self.ids, self.clock, self.rules)
        self.limiter = InMemoryRateLimiter(self.clock)
        self.throttles = IdentityThrottles(Throttle(self.limiter), self.rules)
        self.guard = LoginGuard(self.throttles, self.rules, self.clock)

    def uow(self) -> InMemoryIdentityUnitOfWork:
        return InMemoryIdentityUnitOfWork(InMemoryUnitOfWork(self.database))

    @property
    def register(self) -> RegisterUser:
        return RegisterUser(self.uow(), self.hasher, self.throttles, self.clock, self.ids)

    @property
    def log_in(self) -> LogIn:
        return LogIn(self.uow(), self.hasher, self.tokens, self.guard, self.clock)

    @property
    def refresh(self) -> RefreshSession:
        return RefreshSession(self.uow(), self.tokens, self.clock)

    @property
    def log_out(self) -> LogOut:
        return LogOut(self.uow(), self.clock)

    @property
    def current_user(self) -> GetCurrentUser:
        return GetCurrentUser(self.uow())

    @property
    def change_password(self) -> ChangePassword:
        return ChangePassword(self.uow(), self.hasher, self.guard, self.clock)

    @property
    def list_sessions(self) -> ListSessions:
        return ListSessions(self.uow(), self.clock)

    @property
    def revoke_session(self) -> RevokeSession:
        return RevokeSession(self.uow(), self.clock)

    @property
    def authenticate(self) -> AuthenticateAccessToken:
        return AuthenticateAccessToken(self.uow(), self.issuer, self.clock)

    @property
    def create_admin(self) -> CreateAdmin:
        return CreateAdmin(self.uow(), self.hasher, self.clock, self.ids)


def short_lockout(threshold: int = 3, minutes: int = 15) -> IdentityRules:
    return IdentityRules(
        lockout=LockoutPolicy(
            threshold=threshold, window=timedelta(minutes=minutes), duration=timedelta(minutes=minutes)
        )
    )
