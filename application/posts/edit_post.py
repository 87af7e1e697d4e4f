"""Change a post: all of it (PUT) or some fields (PATCH)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from application.posts.access import PostEdit, edit_post
from application.posts.ports import PostUnitOfWork
from application.shared.actor import Actor
from application.shared.authorization import Policy
from application.shared.cache import Cache
from application.shared.ports import Clock
from domain.posts.post import Post, PostId, PostTitle, content
from domain.posts.tags import Tags
from domain.shared.versioning import ExpectedVersion

__all__ = ["ReplacePost", "ReplacePostCommand", "UpdatePost", "UpdatePostCommand"]


@dataclass(frozen=True, slots=True)
class ReplacePostCommand:
    actor: Actor
    post_id: PostId
    expected_version: ExpectedVersion
    title: str
    content: str
    tags: Sequence[str]
    published: bool


@dataclass(frozen=True, slots=True)
class UpdatePostCommand:
    """``None`` leaves a field as it is."""

    actor: Actor
    post_id: PostId
    expected_version: ExpectedVersion
    title: str | None = None
    content: str | None = None
    tags: Sequence[str] | None = None
    published: bool | None = None


class _Changes(TypedDict):
    """Keyword arguments of ``Post.edit`` other than the version and the time."""

    title: PostTitle | None
    content: str | None
    tags: Tags | None
    published: bool | None


class _EditPost:
    def __init__(self, uow: PostUnitOfWork, clock: Clock, policy: Policy[Post], cache: Cache) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy
        self._cache = cache

    async def _edit(self, cmd: PostEdit, changes: _Changes) -> Post:
        async def change(post: Post) -> None:
            post.edit(expected=cmd.expected_version, now=self._clock.now(), **changes)

        return await edit_post(self._uow, self._cache, self._policy, cmd, change)


class ReplacePost(_EditPost):
    """Set the title, content, tags and published flag of the author's post at once.

    - Only the author (``ForbiddenError`` for anyone else who can see the post,
      ``NotFoundError`` for a draft of someone else).
    - The caller names the version it replaces (``VersionRequiredError`` otherwise); a
      stale one raises ``VersionMismatchError`` and changes nothing.
    - Success raises the version by exactly one; the slug never changes.
    """

    async def __call__(self, cmd: ReplacePostCommand) -> Post:
        changes = _Changes(
            title=PostTitle.parse(cmd.title),
            content=content(cmd.content),
            tags=Tags.parse(cmd.tags),
            published=cmd.published,
        )
        return await self._edit(cmd, changes)


class UpdatePost(_EditPost):
    """Change the given fields of the author's post; the rules of ``ReplacePost`` hold."""

    async def __call__(self, cmd: UpdatePostCommand) -> Post:
        changes = _Changes(
            title=None if cmd.title is None else PostTitle.parse(cmd.title),
            content=None if cmd.content is None else content(cmd.content),
            tags=None if cmd.tags is None else Tags.parse(cmd.tags),
            published=cmd.published,
        )
        return await self._edit(cmd, changes)
