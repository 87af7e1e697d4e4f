"""``Argon2PasswordHasher``: argon2id on a small pool of low-priority threads."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError

from application.errors import DependencyUnavailableError
from application.identity.ports import PasswordHasher

__all__ = ["Argon2Parameters", "Argon2PasswordHasher"]

# Hashing threads run at a lower CPU priority than the event loop: a flood of logins then
# slows logins down, not every other request of the process.
_HASHING_NICENESS = 10
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Argon2Parameters:
    """OWASP's first recommended argon2id configuration by default: 19 MiB, 2 passes, 1 lane."""

    memory_kib: int = 19 * 1024
    iterations: int = 2
    lanes: int = 1


def _lower_priority() -> None:
    # Linux gives each thread its own niceness; elsewhere this may fail: then run at normal priority.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _HASHING_NICENESS)


class Argon2PasswordHasher(PasswordHasher):
    """Hashes off the event loop (the C code releases the GIL) on ``max_concurrency``
    threads: each hash holds ``memory_kib`` of memory and a core, so the pool bounds both.
    Up to ``max_queue`` more wait their turn; past that, calls are refused at once with
    ``DependencyUnavailableError`` (load shedding) rather than queueing without bound.
    Call ``close()`` when done."""

    def __init__(
        self, parameters: Argon2Parameters | None = None, *, max_concurrency: int = 2, max_queue: int = 64
    ) -> None:
        p = parameters or Argon2Parameters()
        self._capacity = max_concurrency + max_queue
        self._pending = 0
        self._argon2 = _Argon2(time_cost=p.iterations, memory_cost=p.memory_kib, parallelism=p.lanes, type=Type.ID)
        self._pool = ThreadPoolExecutor(
            max_workers=max_concurrency, thread_name_prefix="argon2", initializer=_lower_priority
        )
        self._dummy_hash = self._argon2.hash("portside dummy password, never matches a real one")

    async def hash(self, password: str) -> str:
        return await self._run(self._argon2.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await self._run(self._verify, password_hash, password)

    async def _run(self, work: Callable[..., _T], *args: Any) -> _T:
        if self._pending >= self._capacity:
            raise DependencyUnavailableError("password hashing", retry_after=1)
        self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)
        finally:
            self._pending -= 1

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._argon2.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash or self._dummy_hash, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False
