"""The tags of published posts, with their counts."""

from __future__ import annotations

from application.posts.access import CACHE_TTL
from application.posts.ports import PostUnitOfWork, TagCount
from application.shared.cache import PUBLIC_CONTENT, Cache

__all__ = ["ListTags"]


class ListTags:
    """Each tag some published post carries, with the number of published posts carrying
    it, by count descending then name. The same for everyone, so served from the cache."""

    def __init__(self, uow: PostUnitOfWork, cache: Cache) -> None:
        self._uow = uow
        self._cache = cache

    async def __call__(self) -> list[TagCount]:
        lookup = await self._cache.get(PUBLIC_CONTENT, "tags", tuple[TagCount, ...])
        if lookup.value is not None:
            return list(lookup.value)
        async with self._uow as uow:
            counts = await uow.posts.tag_counts()
        await self._cache.put(lookup, tuple(counts), CACHE_TTL)
        return counts
