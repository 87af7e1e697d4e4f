"""``RedisSendPacer``: Telegram send slots booked in one script on Redis's clock, shared by
every process that sends."""

from __future__ import annotations

import asyncio
import math

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from application.errors import DependencyUnavailableError
from application.telegram.pacing import TELEGRAM_LIMITS, SendLimits, SendPacer

__all__ = ["RedisSendPacer"]

_log = structlog.get_logger("portside.telegram")

_TIMEOUT = 1.0
_EXPIRY_MARGIN_MS = 1000

# KEYS: the next free global slot, the next free slot for this chat (microseconds on Redis's
# clock). ARGV: the global spacing and the per-chat interval, in microseconds; the expiry
# margin in milliseconds. Returns the wait until the booked slot, in microseconds. Times
# since the epoch in microseconds (~1.8e15) are exact in Lua's doubles (< 2^53); they are
# written with '%.0f' so no exponent notation ever reaches a key.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local next_global = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local next_chat = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local slot = math.max(now, next_global, next_chat)
local global_after = slot + tonumber(ARGV[1])
local chat_after = slot + tonumber(ARGV[2])
local margin = tonumber(ARGV[3])
redis.call('SET', KEYS[1], string.format('%.0f', global_after),
           'PX', math.ceil((global_after - now) / 1000) + margin)
redis.call('SET', KEYS[2], string.format('%.0f', chat_after),
           'PX', math.ceil((chat_after - now) / 1000) + margin)
return slot - now
"""


class RedisSendPacer(SendPacer):
    def __init__(self, redis: Redis, limits: SendLimits = TELEGRAM_LIMITS, *, prefix: str = "portside:pace:") -> None:
        self._script = redis.register_script(_RESERVE)
        self._prefix = prefix
        # Rounded up, so ``per_second`` slots always span more than one second.
        self._spacing_us = math.ceil(1_000_000 / limits.per_second)
        self._chat_interval_us = math.ceil(limits.per_chat_interval * 1_000_000)

    async def reserve(self, chat_id: int) -> float:
        keys = [f"{self._prefix}global", f"{self._prefix}chat:{chat_id}"]
        try:
            async with asyncio.timeout(_TIMEOUT):
                wait_us = await self._script(
                    keys=keys, args=[self._spacing_us, self._chat_interval_us, _EXPIRY_MARGIN_MS]
                )
        except (RedisError, OSError, TimeoutError) as error:
            _log.warning("send_pacer_unavailable", chat_id=chat_id, error=type(error).__name__)
            raise DependencyUnavailableError("redis", retry_after=1) from error
        return max(int(wait_us), 0) / 1_000_000
