"""``RedisRateLimiter``: fixed windows shared by every process, one atomic script per hit."""

from __future__ import annotations

import math

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from application.shared.rate_limits import RateLimit, RateLimiter

__all__ = ["RedisRateLimiter"]

_log = structlog.get_logger("portside.rate_limit")

# INCR and the first PEXPIRE in one step, so no key ever lives without an expiry.
_HIT = """
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {hits, redis.call('PTTL', KEYS[1])}
"""


class RedisRateLimiter(RateLimiter):
    def __init__(self, redis: Redis, *, prefix: str = "portside:rl:") -> None:
        self._script = redis.register_script(_HIT)
        self._prefix = prefix
        self.failed_open = 0

    async def hit(self, key: str, rate: RateLimit) -> int | None:
        window_ms = int(rate.window.total_seconds() * 1000)
        try:
            hits, ttl_ms = await self._script(keys=[self._prefix + key], args=[window_ms])
        except (RedisError, OSError) as error:
            self.failed_open += 1
            _log.warning("rate_limit_failed_open", key=key, error=type(error).__name__)
            return None
        if int(hits) <= rate.limit:
            return None
        return max(1, math.ceil(max(int(ttl_ms), 0) / 1000))
