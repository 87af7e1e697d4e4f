"""``SqlFileRepository``: the records of uploads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, delete, insert, select

from adapters.shared.unit_of_work import ContextUnitOfWork, repository
from adapters.sql.session import SqlSession
from adapters.sql.statements import Query
from adapters.sql.tables import files
from application.files.ports import FileRepository, FileUnitOfWork, StoredFile
from domain.files.images import FileKey
from domain.shared.ids import UserId

__all__ = ["SqlFileRepository", "SqlFileUnitOfWork"]

_FILE_INSERT = Query(insert(files).values({c.name: bindparam(c.name) for c in files.c}))
_FILE_KEYS_OF = Query(select(files.c.key).where(files.c.owner_id == bindparam("owner_id")))
_FILE_DELETE = Query(delete(files).where(files.c.key == bindparam("key")))


def _file_row(file: StoredFile) -> Mapping[str, Any]:
    return {
        "id": file.id,
        "key": file.key.value,
        "owner_id": file.owner_id,
        "content_type": file.content_type,
        "size": file.size,
        "created_at": file.created_at,
    }


class SqlFileRepository(FileRepository):
    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def add(self, file: StoredFile) -> None:
        await self._db.write(_FILE_INSERT, _file_row(file))

    async def keys_of(self, owner_id: UserId) -> list[FileKey]:
        rows = (await self._db.read(_FILE_KEYS_OF, {"owner_id": owner_id})).rows
        return [FileKey(row["key"]) for row in rows]

    async def remove(self, key: FileKey) -> None:
        await self._db.write(_FILE_DELETE, {"key": key.value})


class SqlFileUnitOfWork(ContextUnitOfWork[SqlSession], FileUnitOfWork):
    files = repository(SqlFileRepository)
