"""Ports of the files context."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import NewType, Protocol
from uuid import UUID

from application.shared.unit_of_work import UnitOfWork
from domain.files.images import FileKey
from domain.shared.ids import UserId

__all__ = ["FileId", "FileRepository", "FileStorage", "FileUnitOfWork", "StoredFile"]

FileId = NewType("FileId", UUID)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredFile:
    """The record of one upload: who stored which bytes under which key."""

    id: FileId
    key: FileKey
    owner_id: UserId
    content_type: str
    size: int
    created_at: datetime


class FileRepository(Protocol):
    @abstractmethod
    async def add(self, file: StoredFile) -> None: ...

    @abstractmethod
    async def keys_of(self, owner_id: UserId) -> list[FileKey]:
        """The keys of every file the account uploaded (its post images included)."""

    @abstractmethod
    async def remove(self, key: FileKey) -> None:
        """Forget the record of ``key`` (its file was replaced); a missing one is no error."""


class FileStorage(Protocol):
    """Where file bytes live, by key. Keys are validated ``FileKey`` values, so an adapter
    never builds a path or URL from raw client input."""

    @abstractmethod
    async def save(self, key: FileKey, data: bytes) -> None:
        """Store ``data`` under ``key`` all at once: a reader never sees a partial file
        (write to a temporary name, then rename atomically)."""

    @abstractmethod
    async def size(self, key: FileKey) -> int | None:
        """The stored size in bytes, or ``None`` when there is no such file."""

    @abstractmethod
    def read(self, key: FileKey, chunk_size: int = 65536) -> AsyncIterator[bytes]:
        """The stored bytes, in chunks (raises ``FileNotFoundError`` when missing)."""

    @abstractmethod
    async def delete(self, key: FileKey) -> None:
        """Remove the file, best effort: it is called after a commit, when the change stands
        whatever happens to the bytes, so a missing file or a storage error never raises
        (an error is logged, and the file stays behind)."""


class FileUnitOfWork(UnitOfWork, Protocol):
    @property
    @abstractmethod
    def files(self) -> FileRepository: ...
