"""The composition root: one dishka container per process, for the app, the CLI and tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

from dishka import AsyncContainer, Provider, Scope, from_context, make_async_container, provide, provide_all
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.redis.client import create_redis
from adapters.redis.health import RedisHealthProbe
from adapters.redis.rate_limiter import RedisRateLimiter
from adapters.security.argon2_hasher import Argon2Parameters, Argon2PasswordHasher
from adapters.security.jwt_issuer import JwtSettings, JwtTokenIssuer
from adapters.sql.engine import create_engine
from adapters.sql.health import SqlHealthProbe
from adapters.sql.unit_of_work import SqlUnitOfWork
from adapters.system.clock import SystemClock
from adapters.system.ids import Uuid7Generator
from application.identity.authenticate_access_token import AuthenticateAccessToken
from application.identity.change_password import ChangePassword
from application.identity.create_admin import CreateAdmin
from application.identity.get_current_user import GetCurrentUser
from application.identity.list_sessions import ListSessions
from application.identity.log_in import LogIn
from application.identity.log_out import LogOut
from application.identity.login_guard import LoginGuard
from application.identity.ports import PasswordHasher, TokenIssuer
from application.identity.refresh_session import RefreshSession
from application.identity.register_user import RegisterUser
from application.identity.revoke_session import RevokeSession
from application.identity.rules import IdentityRules
from application.identity.session_tokens import SessionTokens
from application.identity.throttles import IdentityThrottles
from application.shared.ports import Clock, IdGenerator
from application.shared.rate_limits import RateLimit, RateLimiter, Throttle
from application.shared.readiness import CheckReadiness, HealthProbe
from application.todos.create_todo import CreateTodo
from application.todos.delete_todo import DeleteTodo
from application.todos.get_todo import GetTodo
from application.todos.list_todos import ListTodos
from application.todos.replace_todo import ReplaceTodo
from application.todos.toggle_todo import ToggleTodo
from application.todos.update_todo import UpdateTodo
from application.unit_of_work import UnitOfWork
from domain.identity.lockout import LockoutPolicy
from domain.identity.session import SessionLifetime
from entrypoints.settings import Settings

__all__ = ["build_container"]


class InfraProvider(Provider):
    """Process-wide services that need no external connection."""

    settings = from_context(provides=Settings, scope=Scope.APP)
    clock = provide(SystemClock, provides=Clock, scope=Scope.APP)
    ids = provide(Uuid7Generator, provides=IdGenerator, scope=Scope.APP)
    session_tokens = provide(SessionTokens, scope=Scope.APP)
    throttle = provide(Throttle, scope=Scope.APP)
    identity_throttles = provide(IdentityThrottles, scope=Scope.APP)
    login_guard = provide(LoginGuard, scope=Scope.APP)

    @provide(scope=Scope.APP)
    def rules(self, s: Settings) -> IdentityRules:
        def per_minute(limit: int) -> RateLimit | None:
            return RateLimit(limit, timedelta(minutes=1)) if s.rate_limits else None

        return IdentityRules(
            lockout=LockoutPolicy(
                threshold=s.lockout_threshold,
                window=timedelta(seconds=s.lockout_window),
                duration=timedelta(seconds=s.lockout_duration),
            ),
            session_lifetime=SessionLifetime(
                idle=timedelta(seconds=s.refresh_idle_ttl), absolute=timedelta(seconds=s.refresh_absolute_ttl)
            ),
            login_throttle=per_minute(s.login_throttle),
            register_throttle=per_minute(s.register_throttle),
            register_global_throttle=per_minute(s.register_global_throttle),
        )

    @provide(scope=Scope.APP)
    def hasher(self, s: Settings) -> Iterator[PasswordHasher]:
        parameters = Argon2Parameters(
            memory_kib=s.argon2_memory_kib, iterations=s.argon2_iterations, lanes=s.argon2_lanes
        )
        hasher = Argon2PasswordHasher(parameters, max_concurrency=s.hash_concurrency, max_queue=s.hash_queue)
        yield hasher
        hasher.close()

    @provide(scope=Scope.APP)
    def issuer(self, s: Settings, clock: Clock) -> TokenIssuer:
        return JwtTokenIssuer(
            JwtSettings(
                secret=s.jwt_secret,
                issuer=s.jwt_issuer,
                audience=s.jwt_audience,
                access_ttl=timedelta(seconds=s.access_token_ttl),
            ),
            clock,
        )


class SqlProvider(Provider):
    @provide(scope=Scope.APP)
    async def engine(self, s: Settings) -> AsyncIterator[AsyncEngine]:
        engine = create_engine(s.database_url, pool_size=s.db_pool_size)
        yield engine
        await engine.dispose()

    @provide(scope=Scope.REQUEST)
    async def unit_of_work(self, engine: AsyncEngine) -> AsyncIterator[UnitOfWork]:
        # Authentication and a read-only use-case share one checkout; a block that wrote
        # gives its connection back (see SqlUnitOfWork). The finalizer never sees the
        # handler's exception (dishka), so it only releases: the unit of work commits when
        # the use-case says so and rolls back on leaving otherwise.
        uow = SqlUnitOfWork(engine, hold_connection=True)
        yield uow
        await uow.release()


class InProcessProvider(Provider):
    """No Redis configured: per-process rate limits; readiness asks the database only."""

    @provide(scope=Scope.APP)
    def rate_limiter(self, clock: Clock) -> RateLimiter:
        return InMemoryRateLimiter(clock)

    @provide(scope=Scope.APP)
    def probes(self, engine: AsyncEngine) -> tuple[HealthProbe, ...]:
        return (SqlHealthProbe(engine),)


class RedisProvider(Provider):
    @provide(scope=Scope.APP)
    async def redis(self, s: Settings) -> AsyncIterator[Redis]:
        assert s.redis_url is not None
        client = create_redis(s.redis_url)
        yield client
        await client.aclose()
        await client.connection_pool.disconnect()

    @provide(scope=Scope.APP)
    def rate_limiter(self, redis: Redis) -> RateLimiter:
        return RedisRateLimiter(redis)

    @provide(scope=Scope.APP)
    def probes(self, engine: AsyncEngine, redis: Redis) -> tuple[HealthProbe, ...]:
        return (SqlHealthProbe(engine), RedisHealthProbe(redis))


class UseCaseProvider(Provider):
    scope = Scope.REQUEST
    use_cases = provide_all(
        RegisterUser,
        LogIn,
        RefreshSession,
        LogOut,
        GetCurrentUser,
        ChangePassword,
        ListSessions,
        RevokeSession,
        AuthenticateAccessToken,
        CreateAdmin,
        CreateTodo,
        GetTodo,
        ListTodos,
        ReplaceTodo,
        UpdateTodo,
        ToggleTodo,
        DeleteTodo,
    )
    readiness = provide(CheckReadiness, scope=Scope.APP)


def build_container(settings: Settings, *extra: Provider) -> AsyncContainer:
    """The container for one process. ``extra`` providers come last and may override
    (``override=True``) anything above: that is how tests swap adapters."""
    services: Provider = RedisProvider() if settings.redis_url else InProcessProvider()
    return make_async_container(
        InfraProvider(), SqlProvider(), services, UseCaseProvider(), *extra, context={Settings: settings}
    )
