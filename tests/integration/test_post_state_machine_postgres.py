"""The shipped post machine over SQL on PostgreSQL: the same model, the whole app on the real
database (the slug's unique index, the tag tables, word search by ``tsvector``), its cache in
process; and once more with Redis, the cache every process shares, in its place."""

from __future__ import annotations

from typing import ClassVar
from uuid import uuid4

from dishka import Provider, Scope, provide
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test
from redis.asyncio import Redis

from adapters.redis.cache import RedisCache
from application.shared.cache import Cache
from entrypoints.testing.harness import Harness
from entrypoints.testing.machines import PostMachine
from tests.support.builders import a_harness
from tests.support.services import truncate_pg


class PostgresPostMachine(PostMachine):
    database_url: ClassVar[str]

    def open_harness(self) -> Harness:
        # Published posts are everyone's, slugs and tag counts are the whole store's: another
        # example's posts would show. Each example starts on an empty database.
        self.run(truncate_pg(self.database_url))
        return a_harness(database_url=self.database_url, db_pool_size=2)


class _PrivateRedisCache(Provider):
    """The app's ``RedisCache`` under a key prefix of one example: values another example (or
    another test process on the same Redis) cached from its own database never show."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    @provide(scope=Scope.APP, override=True)
    def cache(self, redis: Redis) -> Cache:
        return RedisCache(redis, prefix=self.prefix)


class RedisPostMachine(PostgresPostMachine):
    redis_url: ClassVar[str]

    def open_harness(self) -> Harness:
        self.run(truncate_pg(self.database_url))
        self.cache_prefix = f"portside:test:posts:{uuid4().hex}:"
        return a_harness(
            _PrivateRedisCache(self.cache_prefix),
            database_url=self.database_url,
            db_pool_size=2,
            redis_url=self.redis_url,
        )

    def teardown(self) -> None:
        try:
            self.run(self._forget_cached_values())
        finally:
            super().teardown()

    async def _forget_cached_values(self) -> None:
        redis = await self.harness.get(Redis)
        keys = [key async for key in redis.scan_iter(match=f"{self.cache_prefix}*")]
        if keys:
            await redis.delete(*keys)


def test_post_use_cases_agree_with_the_model_on_postgres(pg_database: str) -> None:
    PostgresPostMachine.database_url = pg_database
    run_state_machine_as_test(
        PostgresPostMachine, settings=settings(settings.default, max_examples=10, stateful_step_count=20)
    )


def test_post_use_cases_agree_with_the_model_on_postgres_with_the_redis_cache(pg_database: str, redis_url: str) -> None:
    RedisPostMachine.database_url = pg_database
    RedisPostMachine.redis_url = redis_url
    run_state_machine_as_test(
        RedisPostMachine, settings=settings(settings.default, max_examples=5, stateful_step_count=20)
    )
