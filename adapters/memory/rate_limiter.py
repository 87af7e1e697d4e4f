"""``InMemoryRateLimiter``: fixed windows in one process (the embedded profile)."""

from __future__ import annotations

import math

from application.shared.ports import Clock
from application.shared.rate_limits import RateLimit, RateLimiter

__all__ = ["InMemoryRateLimiter"]

_PRUNE_EVERY = 1024


class InMemoryRateLimiter(RateLimiter):
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window end, hits)
        self._hits = 0

    async def hit(self, key: str, rate: RateLimit) -> int | None:
        now = self._clock.now().timestamp()
        self._hits += 1
        if self._hits % _PRUNE_EVERY == 0:
            self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        ends, count = self._windows.get(key, (0.0, 0))
        if ends <= now:
            ends, count = now + rate.window.total_seconds(), 0
        count += 1
        self._windows[key] = (ends, count)
        return None if count <= rate.limit else max(1, math.ceil(ends - now))
