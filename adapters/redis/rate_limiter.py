"""``RedisRateLimiter``: fixed windows shared by every process, one atomic script per hit."""

from __future__ import annotations

import asyncio
import hashlib
import time

import structlog
from redis.exceptions import NoScriptError, RedisError

from adapters.prometheus.metrics import RATE_LIMIT_FAILED_OPEN
from adapters.redis.pipelined import PipelinedRedis
from application.shared.rate_limits import Quota, RateLimit, RateLimiter

__all__ = ["RedisRateLimiter"]

_log = structlog.get_logger("portside.rate_limit")

# INCR and PEXPIRE in one step, so no key ever lives without an expiry (a key found without
# one, left by anything else, gets it too rather than counting forever). Returns the hits of
# the window and the milliseconds left in it.
_HIT = """
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {hits, ttl}
"""
_HIT_SHA = hashlib.sha1(_HIT.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1


class RedisRateLimiter(RateLimiter):
    """``failed_open`` counts the hits let through because Redis did not answer (counted in
    ``portside_rate_limit_failed_open`` too).

    The API limit runs on every request, so a Redis that hangs must not slow them all: a
    hit waits at most ``timeout`` seconds (0.25), and after a failure the next ``cooldown``
    seconds (1) let hits through without asking Redis at all. One warning is logged per
    failure that opens such a pause, never one per request, and never the key (a user id
    or a client address).

    Hits go over ``redis``, one connection the process's requests share (``PipelinedRedis``:
    a hit per request is the one Redis command every request sends).
    """

    def __init__(
        self, redis: PipelinedRedis, *, prefix: str = "portside:rl:", timeout: float = 0.25, cooldown: float = 1.0
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._timeout = timeout
        self._cooldown = cooldown
        self._paused_until = 0.0
        self.failed_open = 0

    async def take(self, key: str, rate: RateLimit) -> Quota | None:
        if time.monotonic() < self._paused_until:
            self._fail_open()
            return None
        window_ms = max(1, int(rate.window.total_seconds() * 1000))
        try:
            async with asyncio.timeout(self._timeout):
                hits, ttl_ms = await self._hit(self._prefix + key, window_ms)
        except (RedisError, OSError) as error:  # a timeout is an OSError (TimeoutError)
            self._paused_until = time.monotonic() + self._cooldown
            _log.warning("rate_limit_failed_open", error=type(error).__name__, pause_seconds=self._cooldown)
            self._fail_open()
            return None
        return Quota.after(int(hits), rate, reset_after=-(-int(ttl_ms) // 1000))

    async def _hit(self, key: str, window_ms: int) -> list[int]:
        try:
            return await self._redis.execute("EVALSHA", _HIT_SHA, 1, key, window_ms)  # type: ignore[no-any-return]
        except NoScriptError:  # a Redis that restarted has forgotten the script: send it whole
            return await self._redis.execute("EVAL", _HIT, 1, key, window_ms)  # type: ignore[no-any-return]

    def _fail_open(self) -> None:
        self.failed_open += 1
        RATE_LIMIT_FAILED_OPEN.inc()
