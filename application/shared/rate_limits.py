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


@dataclass(frozen=True, slots=True)
class Quota:
    """Where a key stands after one hit: what the window allows, how many hits are left in
    it, and in how many whole seconds (at least 1, rounded up) it ends and the count starts
    over. ``allowed`` is false for a hit past the limit; ``remaining`` is then 0."""

    limit: int
    remaining: int
    reset_after: int
    allowed: bool

    @classmethod
    def after(cls, hits: int, rate: RateLimit, reset_after: int) -> Quota:
        """The quota of the ``hits``-th hit of a window that ends in ``reset_after`` seconds."""
        limit = rate.limit
        return cls(limit, max(0, limit - hits), max(1, reset_after), hits <= limit)  # per request: positional


class RateLimiter(Protocol):
    @abstractmethod
    async def take(self, key: str, rate: RateLimit) -> Quota | None:
        """Count one hit on ``key`` and say what is left of ``rate``. Counters are shared by
        every process using the same store. ``None`` when the store did not answer: the hit
        is let through (fail open) rather than failing the request, and nothing is known
        about the quota."""

    async def hit(self, key: str, rate: RateLimit) -> int | None:
        """``take`` for a throttle: ``None`` while within ``rate`` (or failing open), else
        the seconds until the window ends."""
        quota = await self.take(key, rate)
        return None if quota is None or quota.allowed else quota.reset_after


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
