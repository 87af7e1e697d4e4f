"""Throttling: how many attempts a client may make in a window."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from application.errors import RateLimitedError


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``limit`` hits per ``window`` (fixed windows)."""

    limit: int
    window: timedelta

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= timedelta(0):
            raise ValueError("a rate limit needs a positive limit and window")


class RateLimiter(Protocol):
    @abstractmethod
    async def hit(self, key: str, rate: RateLimit) -> int | None:
        """Count one hit on ``key``. ``None`` while within ``rate``, else the seconds until
        the window ends. Counters are shared by every process using the same store; a store
        that does not answer lets the hit through (fail open) rather than failing the request."""


class Throttle:
    """Counts hits against a ``RateLimit`` and refuses the ones past it with ``RateLimitedError``."""

    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter

    async def check(self, key: str, rate: RateLimit | None) -> None:
        """Count a hit on ``key``; ``rate=None`` means this throttle is switched off."""
        if rate is None:
            return
        retry_after = await self._limiter.hit(key, rate)
        if retry_after is not None:
            raise RateLimitedError(retry_after)
