"""Find a stored file by the key a client sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from application.errors import NotFoundError
from application.files.ports import FileStorage
from domain.files.images import FileKey

__all__ = ["OpenFile", "OpenedFile"]


@dataclass(frozen=True, slots=True)
class OpenedFile:
    key: FileKey
    size: int
    content_type: str
    chunks: AsyncIterator[bytes]
    """The bytes, read only when iterated (nothing is opened before: dropping it is free)."""


class OpenFile:
    """A stored file, public to anyone holding its key (128 random bits). The key text is
    validated before storage is asked anything, so no path is ever built from a malformed
    one; a malformed or unknown key is ``NotFoundError``."""

    def __init__(self, storage: FileStorage) -> None:
        self._storage = storage

    async def __call__(self, key: str) -> OpenedFile:
        file_key = FileKey.parse(key)
        size = None if file_key is None else await self._storage.size(file_key)
        if file_key is None or size is None:
            raise NotFoundError("file", "with that key")
        return OpenedFile(file_key, size, file_key.image_type.content_type, self._storage.read(file_key))
