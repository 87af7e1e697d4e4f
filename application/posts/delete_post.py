"""Delete a post: its author, or an admin (moderation, audited)."""

from __future__ import annotations

from dataclasses import dataclass

from application.files.ports import FileStorage
from application.posts.access import load_post
from application.posts.ports import PostUnitOfWork
from application.shared.actor import Actor
from application.shared.audit import Audit
from application.shared.authorization import Action, Policy
from application.shared.cache import PUBLIC_CONTENT, Cache
from application.shared.ports import Clock
from application.shared.versioned import compare_and_set
from domain.files.images import FileKey
from domain.posts.post import Post, PostId
from domain.shared.audit import AuditType
from domain.shared.versioning import ExpectedVersion

__all__ = ["DeletePost", "DeletePostCommand"]


@dataclass(frozen=True, slots=True)
class DeletePostCommand:
    actor: Actor
    post_id: PostId
    expected_version: ExpectedVersion = None


class DeletePost:
    """Delete a post the policy lets the actor delete: the author, or an admin.

    - A version is optional; when given, a stale one is refused and nothing is deleted.
    - An admin deleting someone else's post writes the audit entry ``post.deleted_by_admin``
      (subject: the author) in the same transaction.
    - The post's image file is deleted once the deletion has committed.
    """

    def __init__(
        self, uow: PostUnitOfWork, clock: Clock, policy: Policy[Post], cache: Cache, audit: Audit, files: FileStorage
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy
        self._cache = cache
        self._audit = audit
        self._files = files

    async def __call__(self, cmd: DeletePostCommand) -> None:
        async with self._uow as uow:

            async def delete() -> Post:
                post = await load_post(uow.posts, self._policy, cmd.actor, Action.DELETE, cmd.post_id)
                by_admin = post.author_id != cmd.actor.user_id
                post.delete(expected=cmd.expected_version, now=self._clock.now(), by_admin=by_admin)
                await uow.posts.delete(post)
                if post.image_key is not None:
                    await uow.files.remove(FileKey(post.image_key))
                if by_admin:
                    await self._audit.record(
                        uow.audit_log,
                        AuditType.POST_DELETED_BY_ADMIN,
                        subject_id=post.author_id,
                        actor_id=cmd.actor.user_id,
                        detail={"post_id": str(post.id), "slug": post.slug.value, "title": post.title.value},
                    )
                return post

            post = await compare_and_set(cmd.expected_version, delete)
            await uow.commit()
        await self._cache.bump(PUBLIC_CONTENT)
        if post.image_key is not None:
            await self._files.delete(FileKey(post.image_key))
