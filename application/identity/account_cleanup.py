"""What goes with a deleted account once its deletion has committed."""

from __future__ import annotations

from collections.abc import Iterable

from application.files.ports import FileStorage
from application.shared.cache import PUBLIC_CONTENT, Cache
from domain.files.images import FileKey

__all__ = ["AccountCleanup"]


class AccountCleanup:
    """The account's posts left with it (a foreign-key cascade), so the cache of public
    content starts a new generation; its uploads' bytes are deleted, best effort."""

    def __init__(self, cache: Cache, storage: FileStorage) -> None:
        self._cache = cache
        self._storage = storage

    async def after_deletion(self, uploads: Iterable[FileKey]) -> None:
        await self._cache.bump(PUBLIC_CONTENT)
        for key in uploads:
            await self._storage.delete(key)
