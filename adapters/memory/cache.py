"""``InMemoryCache``: the ``Cache`` of one process; ``NoCache``: a cache that never stores.

``InMemoryCache`` keeps encoded values (so a read is a fresh copy) with their expiry, read
from the clock, at most ``max_entries`` of them and ``max_bytes`` in all: the least recently
used go first; a value over ``MAX_VALUE_BYTES`` is not stored. Values of
ended generations are never read again and age out the same way. It cannot fail, so it never
bypasses. ``NoCache`` is for several processes without a shared store, where a per-process
cache would serve values another process's write has ended.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

from adapters.prometheus.metrics import CACHE_HITS, CACHE_MISSES
from adapters.shared.cache_codec import MAX_VALUE_BYTES, UndecodableError, decode, encode
from application.shared.cache import Cache, CacheStats, Lookup
from application.shared.ports import Clock

__all__ = ["InMemoryCache", "NoCache"]

_T = TypeVar("_T")

_Slot = tuple[str, int, str]  # (namespace, generation, key)


class InMemoryCache(Cache):
    def __init__(self, clock: Clock, *, max_entries: int = 10_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError("max_entries and max_bytes must be at least 1")
        self._clock = clock
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._generations: dict[str, int] = {}
        self._entries: OrderedDict[_Slot, tuple[bytes, float]] = OrderedDict()  # -> (value, expires at)
        self._stats = CacheStats()

    @property
    def stats(self) -> CacheStats:
        return self._stats

    async def get(self, namespace: str, key: str, kind: type[_T]) -> Lookup[_T]:
        generation = self._generations.get(namespace, 0)
        slot = (namespace, generation, key)
        entry = self._entries.get(slot)
        value: _T | None = None
        if entry is not None and entry[1] > self._now():
            try:
                value = decode(entry[0], kind)
            except UndecodableError:
                value = None
        if value is None:
            if entry is not None:
                self._drop(slot)
            self._stats.misses += 1
            CACHE_MISSES.inc()
        else:
            self._entries.move_to_end(slot)
            self._stats.hits += 1
            CACHE_HITS.inc()
        return Lookup(namespace, key, kind, generation, value)

    async def put(self, lookup: Lookup[_T], value: _T, ttl_seconds: float) -> None:
        generation = lookup.generation
        # A value loaded before a bump belongs to an ended generation: nobody would read it.
        if generation is None or ttl_seconds <= 0 or generation != self._generations.get(lookup.namespace, 0):
            return
        data = encode(value)
        if len(data) > MAX_VALUE_BYTES:
            return
        slot = (lookup.namespace, generation, lookup.key)
        if slot in self._entries:
            self._drop(slot)
        self._entries[slot] = (data, self._now() + ttl_seconds)
        self._bytes += len(data)
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, slot: _Slot) -> None:
        data, _ = self._entries.pop(slot)
        self._bytes -= len(data)

    async def bump(self, namespace: str) -> None:
        self._generations[namespace] = self._generations.get(namespace, 0) + 1

    def _now(self) -> float:
        return self._clock.now().timestamp()


class NoCache(Cache):
    """Every ``get`` is a bypass (counted as a miss); ``put`` and ``bump`` do nothing."""

    def __init__(self) -> None:
        self._stats = CacheStats()

    @property
    def stats(self) -> CacheStats:
        return self._stats

    async def get(self, namespace: str, key: str, kind: type[_T]) -> Lookup[_T]:
        self._stats.misses += 1
        CACHE_MISSES.inc()
        return Lookup(namespace, key, kind, None)

    async def put(self, lookup: Lookup[_T], value: _T, ttl_seconds: float) -> None:
        return None

    async def bump(self, namespace: str) -> None:
        return None
