"""Bodies of ``/api/v1/files``."""

from __future__ import annotations

from uuid import UUID

import msgspec

from application.files.ports import StoredFile

__all__ = ["FileView", "file_url"]


def file_url(key: str) -> str:
    return f"/files/{key}"


class FileView(msgspec.Struct, kw_only=True):
    id: UUID
    url: str
    content_type: str
    size: int

    @classmethod
    def of(cls, file: StoredFile) -> FileView:
        return cls(id=file.id, url=file_url(file.key.value), content_type=file.content_type, size=file.size)
