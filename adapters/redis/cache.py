"""``RedisCache``: the ``Cache`` every process shares, one round trip per ``get``.

Keys: ``{prefix}{namespace}:gen`` holds the namespace's generation (missing = 0), and
``{prefix}{namespace}:{generation}:{key}`` a value (MessagePack, with a PX expiry). A script
reads the generation and the value under it in one step. The value key is computed inside
the script, so the script is not cluster-safe (it names a key it was not given).

Every failure of Redis (refused, reset, timed out) is counted in ``stats.errors``, logged as
``cache_unavailable`` and answered as a bypass. A namespace whose ``bump`` failed stays
*pending*: its reads bypass, and each one first retries the bump (inside the same script)
until one succeeds, because Redis may still hold values of the generation the failed bump
should have ended. A background task retries it too (0.1 s doubling to 2 s), so the other
processes, which know nothing of the failure, stop reading the old generation as soon as
Redis takes the bump, not only when this process next reads. ``close()`` stops those tasks.
The client must not decode responses (``decode_responses=False``).

Each call waits at most ``timeout`` seconds (0.5 by default), far less than the client's own
socket timeout: a Redis that hangs costs a read half a second, then the database answers.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from adapters.prometheus.metrics import CACHE_ERRORS, CACHE_HITS, CACHE_MISSES
from adapters.shared.cache_codec import MAX_VALUE_BYTES, UndecodableError, decode, encode
from application.shared.cache import Cache, CacheStats, Lookup

__all__ = ["RedisCache"]

_T = TypeVar("_T")

_log = structlog.get_logger("portside.cache")

# KEYS[1] the generation key; ARGV[1] the namespace's key prefix, ARGV[2] the key, ARGV[3]
# "1" to start the next generation first (a pending bump). Returns {generation, value or nil}.
_GET = """
local generation
if ARGV[3] == '1' then
  generation = redis.call('INCR', KEYS[1])
else
  generation = tonumber(redis.call('GET', KEYS[1]) or '0')
end
return {generation, redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[2])}
"""

# asyncio.TimeoutError is the builtin TimeoutError, an OSError (Python 3.11+).
_UNAVAILABLE = (RedisError, OSError)


class RedisCache(Cache):
    def __init__(self, redis: Redis, *, prefix: str = "portside:cache:", timeout: float = 0.5) -> None:
        self._redis = redis
        self._timeout = timeout
        self._get = redis.register_script(_GET)
        self._prefix = prefix
        # Namespaces whose bump failed, each with the number of that failure: a success
        # ends a failure only if it was attempted after it (concurrent calls interleave).
        self._pending: dict[str, int] = {}
        self._failures = 0
        self._stats = CacheStats()
        self._retries: dict[str, asyncio.Task[None]] = {}

    @property
    def stats(self) -> CacheStats:
        return self._stats

    async def get(self, namespace: str, key: str, kind: type[_T]) -> Lookup[_T]:
        pending = self._pending.get(namespace)
        try:
            async with asyncio.timeout(self._timeout):
                generation, data = await self._get(
                    keys=[self._generation_key(namespace)],
                    args=[f"{self._prefix}{namespace}:", key, "0" if pending is None else "1"],
                )
        except _UNAVAILABLE as error:
            self._failed("get" if pending is None else "bump", namespace, error)
            return Lookup(namespace, key, kind, None)
        if pending is not None:
            self._settled(namespace, pending)
        value: _T | None = None
        if data is not None:
            try:
                value = decode(data, kind)
            except UndecodableError:
                _log.info("cache_value_undecodable", namespace=namespace, key=key)
        if value is None:
            self._stats.misses += 1
            CACHE_MISSES.inc()
        else:
            self._stats.hits += 1
            CACHE_HITS.inc()
        return Lookup(namespace, key, kind, int(generation), value)

    async def put(self, lookup: Lookup[_T], value: _T, ttl_seconds: float) -> None:
        ttl_ms = int(ttl_seconds * 1000)
        if lookup.generation is None or ttl_ms <= 0:
            return
        data = encode(value)
        if len(data) > MAX_VALUE_BYTES:
            return
        name = f"{self._prefix}{lookup.namespace}:{lookup.generation}:{lookup.key}"
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.set(name, data, px=ttl_ms)
        except _UNAVAILABLE as error:
            self._failed("put", lookup.namespace, error)

    async def bump(self, namespace: str) -> None:
        failures = self._failures
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.incr(self._generation_key(namespace))
        except _UNAVAILABLE as error:
            self._failures += 1
            self._pending[namespace] = self._failures
            self._failed("bump", namespace, error)
            if namespace not in self._retries:
                self._retries[namespace] = asyncio.create_task(self._retry_bump(namespace))
        else:
            self._settled(namespace, failures)

    async def close(self) -> None:
        """Stop retrying failed bumps (the process is ending)."""
        tasks = list(self._retries.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _retry_bump(self, namespace: str) -> None:
        delay = 0.1
        try:
            while namespace in self._pending:
                await asyncio.sleep(delay)
                failures = self._failures
                try:
                    async with asyncio.timeout(self._timeout):
                        await self._redis.incr(self._generation_key(namespace))
                except _UNAVAILABLE:
                    delay = min(delay * 2, 2.0)
                else:
                    self._settled(namespace, failures)
        finally:
            self._retries.pop(namespace, None)

    def _settled(self, namespace: str, attempted_after: int) -> None:
        """A bump of ``namespace`` succeeded that was sent after failure ``attempted_after``."""
        failure = self._pending.get(namespace)
        if failure is not None and failure <= attempted_after:
            del self._pending[namespace]

    def _generation_key(self, namespace: str) -> str:
        return f"{self._prefix}{namespace}:gen"

    def _failed(self, operation: str, namespace: str, error: BaseException) -> None:
        self._stats.errors += 1
        CACHE_ERRORS.inc()
        _log.warning("cache_unavailable", operation=operation, namespace=namespace, error=type(error).__name__)
