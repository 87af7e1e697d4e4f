"""``LocalFileStorage``: files in a local directory, ``root/<first two hex digits>/<key>``.

Writes go to a temporary file in the target's own directory, are fsynced and then renamed over
the final name, so a reader sees the old file or the new one, never a part. All disk work runs
in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import structlog

from application.files.ports import FileStorage
from domain.files.images import FileKey

__all__ = ["LocalFileStorage"]

_log = structlog.get_logger("portside.files")

_DIR_MODE = 0o750
_FILE_MODE = 0o640
_TEMP_PREFIX = ".upload-"


class LocalFileStorage(FileStorage):
    """Stores each file at ``root / key[:2] / key``; the root is created on the first save."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root).resolve()

    @property
    def root(self) -> Path:
        return self._root

    def path_of(self, key: FileKey) -> Path:
        """Where ``key`` lives. ``FileKey`` admits only hex and an extension, so the path stays
        under the root by construction; the check here holds even if a fan-out directory were
        replaced by a symlink."""
        path = self._root / key.value[:2] / key.value
        if not path.resolve().is_relative_to(self._root):
            raise ValueError(f"the path of file key {key.value!r} leaves the storage root")
        return path

    async def save(self, key: FileKey, data: bytes) -> None:
        await asyncio.to_thread(self._save, key, data)

    async def size(self, key: FileKey) -> int | None:
        return await asyncio.to_thread(self._size, key)

    async def read(self, key: FileKey, chunk_size: int = 65536) -> AsyncIterator[bytes]:
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        handle = await asyncio.to_thread(self._open, key)
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            handle.close()  # a read-only regular file: closing does not block

    async def delete(self, key: FileKey) -> None:
        try:
            await asyncio.to_thread(self._delete, key)
        except OSError as error:  # a read-only volume, permissions: the file stays behind
            _log.warning("file_delete_failed", key=key.value, error=type(error).__name__)

    def _save(self, key: FileKey, data: bytes) -> None:
        path = self.path_of(key)
        self._root.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        path.parent.mkdir(mode=_DIR_MODE, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as temp:
                os.fchmod(temp.fileno(), _FILE_MODE)
                temp.write(data)
                temp.flush()
                os.fsync(temp.fileno())
            os.replace(temp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        _fsync_directory(path.parent)

    def _size(self, key: FileKey) -> int | None:
        try:
            info = os.stat(self.path_of(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return info.st_size if stat.S_ISREG(info.st_mode) else None

    def _open(self, key: FileKey) -> BinaryIO:
        return open(self.path_of(key), "rb")  # closed by ``read``'s finally

    def _delete(self, key: FileKey) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path_of(key))


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (the directory entry), where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
