"""``InMemoryPostRepository``: the SQL adapter's semantics
over dicts (ordering, visibility, word search by the same tokenizer)."""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adapters.memory.database import detached
from adapters.memory.files import InMemoryFileRepository
from adapters.memory.identity import InMemoryAuditLog
from adapters.memory.unit_of_work import InMemoryRepository, InMemoryUnitOfWork
from adapters.shared.search_words import has_words
from adapters.shared.slug_forms import numbered_forms
from adapters.shared.unit_of_work import ContextUnitOfWork, repository
from application.posts.ports import (
    ExportCursor,
    PostFilter,
    PostQuery,
    PostRepository,
    PostSort,
    PostUnitOfWork,
    SlugTakenError,
    TagCount,
)
from domain.posts.post import Post, PostId
from domain.posts.slug import Slug
from domain.shared.errors import VersionMismatchError
from domain.shared.ids import UserId
from domain.shared.pagination import Page

__all__ = [
    "InMemoryPostRepository",
    "InMemoryPostUnitOfWork",
    "PostTables",
]


def _sort_key(sort: PostSort) -> Callable[[Post], tuple[Any, ...]]:
    """The same order as the SQL repository: titles by code point, ties broken by id."""
    field_name = sort.value.lstrip("-")
    if field_name == "title":
        return lambda p: (p.title.value, p.id)
    return lambda p: (getattr(p, field_name), p.id)


def _matches(post: Post, post_filter: PostFilter) -> bool:
    visibility = post_filter.visibility
    return (
        (visibility.everything or post.published or post.author_id == visibility.drafts_of)
        and (post_filter.tag is None or post_filter.tag in post.tags.names)
        and (post_filter.author_id is None or post.author_id == post_filter.author_id)
        and (post_filter.published is None or post.published == post_filter.published)
        and (
            post_filter.words is None
            or (bool(post_filter.words) and has_words(f"{post.title.value} {post.content}", post_filter.words))
        )
    )


@dataclass(slots=True)
class PostTables:
    posts: dict[PostId, Post] = field(default_factory=dict)

    def copy(self) -> PostTables:
        return PostTables(posts=dict(self.posts))

    def drop_user(self, user_id: UserId) -> None:
        """As ``ON DELETE CASCADE`` on ``posts.author_id``."""
        self.posts = {k: p for k, p in self.posts.items() if p.author_id != user_id}


class InMemoryPostRepository(InMemoryRepository[PostTables], PostRepository):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, PostTables)

    async def add(self, post: Post) -> None:
        if any(p.slug == post.slug for p in self._tables.posts.values()):
            raise SlugTakenError()
        self._writable.posts[post.id] = detached(post)

    async def used_slugs(self, slug: Slug) -> builtins.set[str]:
        return numbered_forms(slug, (p.slug.value for p in self._tables.posts.values()))

    async def get(self, post_id: PostId) -> Post | None:
        stored = self._tables.posts.get(post_id)
        return None if stored is None else detached(stored)

    async def get_by_slug(self, slug: str) -> Post | None:
        found = next((p for p in self._tables.posts.values() if p.slug.value == slug), None)
        return None if found is None else detached(found)

    async def save(self, post: Post) -> None:
        self._expect(post.id, post.version - 1)
        self._writable.posts[post.id] = detached(post)

    async def delete(self, post: Post) -> None:
        self._expect(post.id, post.version)
        del self._writable.posts[post.id]

    async def list(self, query: PostQuery) -> Page[Post]:
        found = self._matching(query.filter)
        found.sort(key=_sort_key(query.sort), reverse=query.sort.value.startswith("-"))
        start = query.page.offset
        return Page(
            items=[detached(p) for p in found[start : start + query.page.size]], request=query.page, total=len(found)
        )

    async def export_batch(
        self, post_filter: PostFilter, after: ExportCursor | None, limit: int
    ) -> builtins.list[Post]:
        found = sorted(self._matching(post_filter), key=lambda p: (p.created_at, p.id))
        if after is not None:
            found = [p for p in found if (p.created_at, p.id) > (after.created_at, after.post_id)]
        return [detached(p) for p in found[:limit]]

    async def tag_counts(self) -> builtins.list[TagCount]:
        counts = Counter(name for p in self._tables.posts.values() if p.published for name in p.tags.names)
        return [TagCount(name, count) for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]

    def _matching(self, post_filter: PostFilter) -> builtins.list[Post]:
        return [p for p in self._tables.posts.values() if _matches(p, post_filter)]

    def _expect(self, post_id: PostId, version: int) -> None:
        stored = self._tables.posts.get(post_id)
        if stored is None or stored.version != version:
            raise VersionMismatchError(expected=version, actual=None if stored is None else stored.version)


class InMemoryPostUnitOfWork(ContextUnitOfWork[InMemoryUnitOfWork], PostUnitOfWork):
    posts = repository(InMemoryPostRepository)
    files = repository(InMemoryFileRepository)
    audit_log = repository(InMemoryAuditLog)
