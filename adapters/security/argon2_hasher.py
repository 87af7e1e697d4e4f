"""``Argon2PasswordHasher``: argon2id off the event loop, with a concurrency cap."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError

from application.identity.ports import PasswordHasher

__all__ = ["Argon2Parameters", "Argon2PasswordHasher"]


@dataclass(frozen=True, slots=True)
class Argon2Parameters:
    """OWASP's first recommended argon2id configuration by default: 19 MiB, 2 passes, 1 lane."""

    memory_kib: int = 19 * 1024
    iterations: int = 2
    lanes: int = 1


class Argon2PasswordHasher(PasswordHasher):
    """Hashes in worker threads (the C code releases the GIL), at most ``max_concurrency`` at a
    time: each hash holds ``memory_kib`` of memory and a core, so an unbounded number of
    concurrent logins would exhaust both. Waiting callers queue on a semaphore."""

    def __init__(self, parameters: Argon2Parameters | None = None, *, max_concurrency: int = 2) -> None:
        p = parameters or Argon2Parameters()
        self._argon2 = _Argon2(time_cost=p.iterations, memory_cost=p.memory_kib, parallelism=p.lanes, type=Type.ID)
        self._slots = asyncio.Semaphore(max_concurrency)
        self._dummy_hash = self._argon2.hash("portside dummy password, never matches a real one")

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._argon2.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        async with self._slots:
            return await asyncio.to_thread(self._verify, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._argon2.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash or self._dummy_hash, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False
