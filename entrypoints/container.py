"""The composition root: one dishka container per process, for the app, the CLI and tests.

Each bounded context brings its providers (``entrypoints/providers/<context>.py``): its
use-cases and its unit of work on the chosen storage. Adding a context adds one entry to
``CONTEXTS`` and touches nothing else here.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from urllib.parse import urlsplit

from arq.connections import ArqRedis
from dishka import AsyncContainer, Provider, Scope, from_context, make_async_container, provide
from redis.asyncio import Redis

from adapters.memory.broadcaster import InProcessBroadcaster
from adapters.memory.cache import InMemoryCache, NoCache
from adapters.memory.job_queue import InProcessJobQueue
from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.memory.send_pacer import InMemorySendPacer
from adapters.redis.broadcaster import RedisBroadcaster
from adapters.redis.cache import RedisCache
from adapters.redis.client import create_redis
from adapters.redis.health import RedisHealthProbe
from adapters.redis.job_queue import ArqJobQueue, arq_redis
from adapters.redis.pipelined import PipelinedRedis
from adapters.redis.rate_limiter import RedisRateLimiter
from adapters.redis.send_pacer import RedisSendPacer
from adapters.security.argon2_hasher import Argon2Parameters, Argon2PasswordHasher
from adapters.security.jwt_issuer import JwtSettings, JwtTokenIssuer
from adapters.system.clock import SystemClock
from adapters.system.ids import Uuid7Generator
from application.identity.ports import PasswordHasher, TokenIssuer
from application.jobs.due_jobs import Doorbell
from application.jobs.ports import JobQueue
from application.shared.cache import Cache
from application.shared.events import Provenance
from application.shared.ports import Clock, IdGenerator
from application.shared.rate_limits import RateLimiter, Throttle
from application.shared.readiness import CheckReadiness, HealthProbe
from application.shared.realtime import Announcer, Broadcaster
from application.telegram.pacing import SendPacer
from entrypoints.providers.email import EmailProvider
from entrypoints.providers.identity import identity_providers
from entrypoints.providers.jobs import job_providers
from entrypoints.providers.posts import post_providers
from entrypoints.providers.storage import DatabaseProbe, MemoryStorage, SqlStorage, Storage
from entrypoints.providers.telegram import telegram_providers
from entrypoints.providers.todos import todo_providers
from entrypoints.realtime.announcer import ApiAnnouncer
from entrypoints.settings import Settings

__all__ = ["CONTEXTS", "build_container"]

# Jobs first: the other contexts add their event handlers to its ``EventHandlers`` with a
# dishka ``decorate``, which applies only to what providers before it provide.
CONTEXTS: tuple[Callable[[Storage], tuple[Provider, ...]], ...] = (
    job_providers,
    identity_providers,
    todo_providers,
    post_providers,
    telegram_providers,
)


class InfraProvider(Provider):
    """Process-wide services that need no external connection."""

    settings = from_context(provides=Settings, scope=Scope.APP)
    clock = provide(SystemClock, provides=Clock, scope=Scope.APP)
    ids = provide(Uuid7Generator, provides=IdGenerator, scope=Scope.APP)
    throttle = provide(Throttle, scope=Scope.APP)
    readiness = provide(CheckReadiness, scope=Scope.APP)
    announcer = provide(ApiAnnouncer, provides=Announcer, scope=Scope.APP)

    @provide(scope=Scope.REQUEST)
    def provenance(self) -> Provenance:
        """Empty for in-process callers; the HTTP layer provides its own (request id, actor)."""
        return Provenance()

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


class InProcessProvider(Provider):
    """No Redis configured: per-process rate limits; jobs run in this process (the job
    records are their queue); readiness asks the database only. The cache is this
    process's memory when no other process can write the data: one ``serve`` worker on
    SQLite or ``memory://``. With several workers, or on PostgreSQL (which other replicas
    may share), there is no cache at all, since one process could not end another's
    generation: configure Redis for a shared one."""

    doorbell = provide(Doorbell, scope=Scope.APP)
    job_queue = provide(InProcessJobQueue, provides=JobQueue, scope=Scope.APP)

    @provide(scope=Scope.APP)
    def broadcaster(self) -> Broadcaster:
        """This process's sockets only: several ``serve`` workers without Redis each
        announce what their own relay took (README, "Realtime")."""
        return InProcessBroadcaster()

    @provide(scope=Scope.APP)
    def rate_limiter(self, clock: Clock) -> RateLimiter:
        return InMemoryRateLimiter(clock)

    @provide(scope=Scope.APP)
    def pacer(self) -> SendPacer:
        """This process is the only sender."""
        return InMemorySendPacer()

    @provide(scope=Scope.APP)
    def cache(self, s: Settings, clock: Clock) -> Cache:
        return NoCache() if s.may_run_several_processes else InMemoryCache(clock)

    @provide(scope=Scope.APP)
    def probes(self, database: DatabaseProbe) -> tuple[HealthProbe, ...]:
        return (database.probe,)


class RedisProvider(Provider):
    @provide(scope=Scope.APP)
    async def redis(self, s: Settings) -> AsyncIterator[Redis]:
        assert s.redis_url is not None
        client = create_redis(s.redis_url)
        yield client
        await client.aclose()
        await client.connection_pool.disconnect()

    @provide(scope=Scope.APP)
    async def pipelined(self, s: Settings) -> AsyncIterator[PipelinedRedis]:
        """The connection the command every request sends (the rate limiter's hit) goes over."""
        assert s.redis_url is not None
        connection = PipelinedRedis.from_url(s.redis_url)
        yield connection
        await connection.aclose()

    @provide(scope=Scope.APP)
    def rate_limiter(self, pipelined: PipelinedRedis, s: Settings) -> RateLimiter:
        """Counters of one deployment: others (or test runs) sharing this Redis count apart."""
        return RedisRateLimiter(pipelined, prefix=f"portside:rl:{_deployment(s)}:")

    @provide(scope=Scope.APP)
    async def cache(self, redis: Redis, s: Settings) -> AsyncIterator[Cache]:
        cache = RedisCache(redis, prefix=f"portside:cache:{_deployment(s)}:")
        yield cache
        await cache.close()

    @provide(scope=Scope.APP)
    def broadcaster(self, redis: Redis, s: Settings) -> Broadcaster:
        """Every API process of the deployment listens on one channel."""
        return RedisBroadcaster(redis, f"portside:realtime:{_deployment(s)}")

    @provide(scope=Scope.APP)
    def pacer(self, redis: Redis) -> SendPacer:
        """Telegram's limits hold across every worker process."""
        return RedisSendPacer(redis)

    @provide(scope=Scope.APP)
    def arq(self, redis: Redis) -> ArqRedis:
        return arq_redis(redis)

    @provide(scope=Scope.APP)
    def job_queue(self, arq: ArqRedis) -> JobQueue:
        return ArqJobQueue(arq)

    @provide(scope=Scope.APP)
    def probes(self, database: DatabaseProbe, redis: Redis) -> tuple[HealthProbe, ...]:
        return (database.probe, RedisHealthProbe(redis))


def _deployment(s: Settings) -> str:
    """A digest of the database's name (the URL's path, not its host or credentials, which
    replicas may spell differently), for Redis keys and channels: deployments, or test
    runs, on other databases that share one Redis never read each other's pages or events."""
    return hashlib.sha256(urlsplit(s.database_url).path.encode()).hexdigest()[:16]


def build_container(settings: Settings, *extra: Provider) -> AsyncContainer:
    """The container for one process. ``extra`` providers come last and may override
    (``override=True``) anything above: that is how tests swap adapters.

    ``PORTSIDE_DATABASE_URL=memory://`` wires every context to the in-memory adapters;
    anything else to SQL. Redis is used when ``PORTSIDE_REDIS_URL`` is set.
    """
    storage = Storage.of(settings)
    storage_provider: Provider = MemoryStorage() if storage is Storage.MEMORY else SqlStorage()
    services: Provider = RedisProvider() if settings.redis_url else InProcessProvider()
    contexts = [provider for context in CONTEXTS for provider in context(storage)]
    return make_async_container(
        InfraProvider(), EmailProvider(), storage_provider, services, *contexts, *extra, context={Settings: settings}
    )
