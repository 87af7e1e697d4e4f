"""``InMemoryRateLimiter``: fixed windows in one process (the embedded profile)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from application.shared.ports import Clock
from application.shared.rate_limits import Quota, RateLimit, RateLimiter

__all__ = ["InMemoryRateLimiter"]

_PRUNE_EVERY = 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


class InMemoryRateLimiter(RateLimiter):
    """Windows are counted in whole milliseconds of the ``Clock``, as Redis counts them.
    Ended windows are dropped every 1,024 hits, so idle keys do not pile up."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (window end in ms, hits)
        self._hits = 0

    async def take(self, key: str, rate: RateLimit) -> Quota:
        now = (self._clock.now() - _EPOCH) // _MS  # exact: a float timestamp can be a millisecond off
        self._hits += 1
        if self._hits % _PRUNE_EVERY == 0:
            self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        ends, count = self._windows.get(key, (0, 0))
        if ends <= now:
            ends, count = now + max(1, rate.window // _MS), 0
        count += 1
        self._windows[key] = (ends, count)
        return Quota.after(count, rate, reset_after=-(-(ends - now) // 1000))
