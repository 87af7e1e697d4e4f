"""``InMemoryFileRepository``: the records of uploads."""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.memory.unit_of_work import InMemoryRepository, InMemoryUnitOfWork
from adapters.shared.unit_of_work import ContextUnitOfWork, repository
from application.files.ports import FileRepository, FileUnitOfWork, StoredFile
from domain.files.images import FileKey
from domain.shared.ids import UserId

__all__ = ["FileTables", "InMemoryFileRepository", "InMemoryFileUnitOfWork"]


@dataclass(slots=True)
class FileTables:
    files: dict[FileKey, StoredFile] = field(default_factory=dict)
    """Immutable records, so copies share them."""

    def copy(self) -> FileTables:
        return FileTables(files=dict(self.files))

    def drop_user(self, user_id: UserId) -> None:
        """As ``ON DELETE CASCADE`` on ``files.owner_id``."""
        self.files = {k: f for k, f in self.files.items() if f.owner_id != user_id}


class InMemoryFileRepository(InMemoryRepository[FileTables], FileRepository):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, FileTables)

    async def add(self, file: StoredFile) -> None:
        self._writable.files[file.key] = file

    async def keys_of(self, owner_id: UserId) -> list[FileKey]:
        return [key for key, file in self._tables.files.items() if file.owner_id == owner_id]

    async def remove(self, key: FileKey) -> None:
        self._writable.files.pop(key, None)


class InMemoryFileUnitOfWork(ContextUnitOfWork[InMemoryUnitOfWork], FileUnitOfWork):
    files = repository(InMemoryFileRepository)
