"""Reaching a post through its policy, the shared body of every post write, and the cache."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from application.errors import NotFoundError, VersionRequiredError
from application.posts.ports import PostRepository, PostUnitOfWork
from application.shared.actor import Actor
from application.shared.authorization import Action, Policy, authorize
from application.shared.cache import PUBLIC_CONTENT, Cache
from application.shared.versioned import compare_and_set
from domain.posts.post import Post, PostId
from domain.shared.versioning import ExpectedVersion

__all__ = ["CACHE_TTL", "PostEdit", "edit_post", "load_post"]

CACHE_TTL = 300.0
"""Seconds a cached read lives. Invalidation is by generation, exact; the lifetime only bounds
memory and how long a value could outlive a bump that failed while the cache was down."""


class PostEdit(Protocol):
    """What every write to one post says: who changes which post, at which version."""

    @property
    def actor(self) -> Actor: ...

    @property
    def post_id(self) -> PostId: ...

    @property
    def expected_version(self) -> ExpectedVersion: ...


async def load_post(
    posts: PostRepository, policy: Policy[Post], actor: Actor | None, action: Action, post_id: PostId
) -> Post:
    """The post, if the policy lets ``actor`` do ``action`` to it.

    Raises:
        NotFoundError: there is no such post, or the policy hides it from ``actor``.
        ForbiddenError: the policy forbids the action.
    """
    post = await posts.get(post_id)
    if post is None:
        raise NotFoundError("post", post_id)
    authorize(policy, actor, action, post)
    return post


async def edit_post(
    uow: PostUnitOfWork,
    cache: Cache,
    policy: Policy[Post],
    cmd: PostEdit,
    change: Callable[[Post], Awaitable[None]],
    *,
    version_required: bool = True,
    then: Callable[[PostUnitOfWork, Post], Awaitable[None]] | None = None,
) -> Post:
    """Load the post the author may edit, refuse an edit that names no version when one is
    required (telling the current one), apply ``change`` with compare-and-set, run ``then``
    once on the change that won, commit, and end the cache generation before returning."""
    async with uow:

        async def attempt() -> Post:
            post = await load_post(uow.posts, policy, cmd.actor, Action.EDIT, cmd.post_id)
            if version_required and cmd.expected_version is None:
                raise VersionRequiredError("post", post.version)
            await change(post)
            await uow.posts.save(post)
            return post

        post = await compare_and_set(cmd.expected_version, attempt)
        if then is not None:
            await then(uow, post)
        await uow.commit()
    await cache.bump(PUBLIC_CONTENT)
    return post
