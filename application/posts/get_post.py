"""Read one post, by id or by slug; published posts come from the cache."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from application.errors import NotFoundError
from application.posts.access import CACHE_TTL
from application.posts.ports import PostUnitOfWork
from application.shared.actor import Actor
from application.shared.authorization import Action, Policy, authorize
from application.shared.cache import PUBLIC_CONTENT, Cache
from domain.posts.post import Post, PostId
from domain.posts.slug import Slug
from domain.shared.errors import InvalidValueError

__all__ = ["GetPost", "GetPostBySlug"]


class _ReadPost:
    def __init__(self, uow: PostUnitOfWork, policy: Policy[Post], cache: Cache) -> None:
        self._uow = uow
        self._policy = policy
        self._cache = cache

    async def _read(
        self, actor: Actor | None, key: str, what: object, load: Callable[[PostUnitOfWork], Awaitable[Post | None]]
    ) -> Post:
        lookup = await self._cache.get(PUBLIC_CONTENT, key, Post)
        post = lookup.value
        if post is None:
            async with self._uow as uow:
                post = await load(uow)
            if post is not None and post.published:
                await self._cache.put(lookup, post, CACHE_TTL)
        if post is None:
            raise NotFoundError("post", what)
        authorize(self._policy, actor, Action.READ, post)
        return post


class GetPost(_ReadPost):
    """A post the actor may see (published, or their own draft, or any to an admin); a
    draft is not found for anyone else. Published posts are served from the cache."""

    async def __call__(self, actor: Actor | None, post_id: PostId) -> Post:
        return await self._read(actor, f"post:{post_id}", post_id, lambda uow: uow.posts.get(post_id))


class GetPostBySlug(_ReadPost):
    """As ``GetPost``, by the post's slug."""

    async def __call__(self, actor: Actor | None, slug: str) -> Post:
        try:
            Slug(slug)
        except InvalidValueError:
            raise NotFoundError("post", slug) from None  # no post can have it: ask nobody
        return await self._read(actor, f"slug:{slug}", slug, lambda uow: uow.posts.get_by_slug(slug))
