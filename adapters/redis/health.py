"""``RedisHealthProbe``: ``PING`` with a timeout."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from application.shared.readiness import HealthProbe

__all__ = ["RedisHealthProbe"]


class RedisHealthProbe(HealthProbe):
    name = "redis"

    def __init__(self, redis: Redis, timeout: float = 2.0) -> None:
        self._redis = redis
        self._timeout = timeout

    async def check(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                return bool(await self._redis.ping())
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return False
