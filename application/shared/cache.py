"""The ``Cache`` port: shared, generation-invalidated reads that never fail a request.

A reader asks ``get`` for a key in a *namespace* (``"posts"``). The answer carries the
namespace's current generation; on a miss the reader loads the value from the database and
hands it back with ``put(lookup, value)``, which stores it under the generation it saw
*before* the load. A writer calls ``bump(namespace)`` after its commit and before it
returns: every later ``get`` sees the next generation and misses, so no reader ever sees a
value older than a write that has returned. A value stored by a reader that raced the
write lands under the old generation, where nobody looks any more.

Every method fails soft. With the store down, ``get`` answers a bypass (``generation`` is
``None``: load from the database and do not store), ``put`` and ``bump`` do nothing; none
raises. An adapter that could not bump must bypass its own reads until a bump succeeds,
since its store may still hold values of the generation it failed to end.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

__all__ = ["PUBLIC_CONTENT", "Cache", "CacheStats", "Lookup"]

PUBLIC_CONTENT = "content"
"""The namespace of every cached public read of what users make (posts, their tags). A
use-case that changes such content, or deletes its author, bumps it after its commit."""

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Lookup(Generic[_T]):
    """What ``get`` found: ``value`` (``None`` on a miss) and the generation it looked in
    (``None`` when the store is unavailable: a bypass)."""

    namespace: str
    key: str
    kind: type[_T]
    generation: int | None
    value: _T | None = None

    @property
    def hit(self) -> bool:
        return self.value is not None


@dataclass(slots=True)
class CacheStats:
    """Counters for metrics: ``errors`` counts store failures (each one a bypass)."""

    hits: int = 0
    misses: int = 0
    errors: int = 0


class Cache(Protocol):
    """Values are dataclasses (or lists, tuples and primitives of them) of type ``kind``;
    adapters encode them, so a value read is always a fresh copy."""

    @abstractmethod
    async def get(self, namespace: str, key: str, kind: type[_T]) -> Lookup[_T]:
        """The value under ``key`` in the namespace's current generation, if any."""

    @abstractmethod
    async def put(self, lookup: Lookup[_T], value: _T, ttl_seconds: float) -> None:
        """Store ``value`` under the lookup's key and generation (nothing on a bypass)."""

    @abstractmethod
    async def bump(self, namespace: str) -> None:
        """Start the namespace's next generation: every value stored so far is out of date."""

    @property
    @abstractmethod
    def stats(self) -> CacheStats: ...
