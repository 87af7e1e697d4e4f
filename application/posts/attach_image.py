"""Attach an image to a post, replacing the one it had."""

from __future__ import annotations

from dataclasses import dataclass

from application.files.ports import FileStorage, StoredFile
from application.files.upload_image import ImageStore
from application.posts.access import edit_post, load_post
from application.posts.ports import PostUnitOfWork
from application.shared.actor import Actor
from application.shared.authorization import Action, Policy
from application.shared.cache import Cache
from application.shared.ports import Clock
from domain.files.images import FileKey
from domain.posts.post import Post, PostId
from domain.shared.versioning import ExpectedVersion

__all__ = ["AttachImage", "AttachImageCommand"]


@dataclass(frozen=True, slots=True)
class AttachImageCommand:
    actor: Actor
    post_id: PostId
    data: bytes
    expected_version: ExpectedVersion = None


class AttachImage:
    """Store an image and make it the post's, for its author only.

    - The image is checked as every upload is (type by content, at most 5 MiB, not empty).
    - The version goes up by one; a version, when given, must be the current one.
    - The replaced image's file is deleted once the change has committed; when the change
      fails before its commit, the new file is deleted instead, so a failed request leaves
      no file behind. A failure during the commit keeps it: the commit may have landed,
      and an orphan file is better than a post pointing at nothing.
    """

    def __init__(
        self,
        uow: PostUnitOfWork,
        clock: Clock,
        policy: Policy[Post],
        cache: Cache,
        images: ImageStore,
        files: FileStorage,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy
        self._cache = cache
        self._images = images
        self._files = files

    async def __call__(self, cmd: AttachImageCommand) -> tuple[Post, StoredFile]:
        """The post as changed, and the image's record."""
        async with self._uow as uow:  # refuse before any byte is written
            await load_post(uow.posts, self._policy, cmd.actor, Action.EDIT, cmd.post_id)
        stored = await self._images.store(cmd.actor, cmd.data)
        replaced: list[FileKey] = []

        async def change(post: Post) -> None:
            replaced.clear()
            previous = post.attach_image(expected=cmd.expected_version, key=stored.key.value, now=self._clock.now())
            replaced.extend([] if previous is None else [FileKey(previous)])

        committing = False

        async def record(uow: PostUnitOfWork, post: Post) -> None:
            nonlocal committing
            await uow.files.add(stored)
            for key in replaced:
                await uow.files.remove(key)
            committing = True  # from here the change may stand: its file must too

        try:
            post = await edit_post(
                self._uow, self._cache, self._policy, cmd, change, version_required=False, then=record
            )
        except BaseException:
            if not committing:
                await self._images.discard(stored)
            raise
        for key in replaced:
            await self._files.delete(key)
        return post, stored
