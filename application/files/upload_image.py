"""Store an uploaded image: checked by its content, kept under a random key."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from application.files.ports import FileId, FileStorage, FileUnitOfWork, StoredFile
from application.shared.actor import Actor
from application.shared.ports import Clock, IdGenerator
from domain.files.images import FileKey, image_type

__all__ = ["ImageStore", "UploadImage", "UploadImageCommand"]

_INLINE_CHECK = 256 * 1024


class ImageStore:
    """Checks an image and writes its bytes to storage before any transaction starts, so
    no database connection waits on the disk; ``discard`` removes them again when the
    transaction that was to record them fails."""

    def __init__(self, storage: FileStorage, clock: Clock, ids: IdGenerator) -> None:
        self._storage = storage
        self._clock = clock
        self._ids = ids

    async def store(self, owner: Actor, data: bytes) -> StoredFile:
        """Raises ``InvalidValueError`` (empty), ``FileTooLargeError`` (over 5 MiB) or
        ``UnsupportedMediaTypeError`` (not a well-formed PNG, JPEG, WebP or GIF)."""
        # Checking a large file walks all of it (tens of milliseconds at 5 MiB): off the loop.
        kind = image_type(data) if len(data) <= _INLINE_CHECK else await asyncio.to_thread(image_type, data)
        key = FileKey.generate(kind)
        await self._storage.save(key, data)
        return StoredFile(
            id=FileId(self._ids.new_id()),
            key=key,
            owner_id=owner.user_id,
            content_type=kind.content_type,
            size=len(data),
            created_at=self._clock.now(),
        )

    async def discard(self, file: StoredFile) -> None:
        await self._storage.delete(file.key)


@dataclass(frozen=True, slots=True)
class UploadImageCommand:
    actor: Actor
    data: bytes


class UploadImage:
    """Store an image for the actor and record the upload. The type comes from the bytes
    (PNG, JPEG, WebP or GIF; markup-bearing polyglots refused), never from the client's
    header; the key holds 128 random bits, since files are public by design."""

    def __init__(self, uow: FileUnitOfWork, images: ImageStore) -> None:
        self._uow = uow
        self._images = images

    async def __call__(self, cmd: UploadImageCommand) -> StoredFile:
        stored = await self._images.store(cmd.actor, cmd.data)
        committing = False
        try:
            async with self._uow as uow:
                await uow.files.add(stored)
                committing = True  # the commit may land even if it reports failure: keep the file
                await uow.commit()
        except BaseException:
            if not committing:
                await self._images.discard(stored)
            raise
        return stored
