"""Password hashers for tests: real argon2 underneath, with a record of what was asked of it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from application.identity.ports import PasswordHasher


class RecordingHasher(PasswordHasher):
    """Delegates to ``inner``; counts the checks, optionally makes each take ``delay`` longer
    (so a burst is all reserved before any check ends), and records ``probe()`` at every call."""

    def __init__(self, inner: PasswordHasher, *, delay: float = 0.0, probe: Callable[[], object] | None = None) -> None:
        self._inner = inner
        self._delay = delay
        self._probe = probe
        self.verified: list[str] = []
        self.probed: list[object] = []

    async def hash(self, password: str) -> str:
        self._look()
        return await self._inner.hash(password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        self._look()
        self.verified.append(password)
        await asyncio.sleep(self._delay)
        return await self._inner.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._inner.needs_rehash(password_hash)

    def _look(self) -> None:
        if self._probe is not None:
            self.probed.append(self._probe())
