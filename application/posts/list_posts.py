"""One page of the posts the caller may see; public pages come from the cache."""

from __future__ import annotations

from dataclasses import dataclass

from application.posts.access import CACHE_TTL
from application.posts.policy import PostPolicy
from application.posts.ports import PostFilter, PostQuery, PostSort, PostUnitOfWork, Visibility
from application.shared.actor import Actor
from application.shared.cache import PUBLIC_CONTENT, Cache
from domain.posts.post import Post
from domain.posts.search import QUERY_MAX, words
from domain.posts.tags import tag_name
from domain.shared.errors import InvalidValueError
from domain.shared.ids import UserId
from domain.shared.pagination import DEFAULT_PAGE_SIZE, Page, PageRequest

__all__ = ["CachedPage", "ListPosts", "ListPostsCommand", "post_filter"]


@dataclass(frozen=True, slots=True)
class ListPostsCommand:
    """``q``: whole words, all of which must occur in the title or the content."""

    actor: Actor | None
    tag: str | None = None
    author_id: UserId | None = None
    published: bool | None = None
    q: str | None = None
    sort: PostSort = PostSort.CREATED_DESC
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE


@dataclass(frozen=True, slots=True)
class CachedPage:
    """A page as the cache keeps it."""

    items: tuple[Post, ...]
    total: int


def post_filter(
    actor: Actor | None, tag: str | None, author_id: UserId | None, published: bool | None, q: str | None
) -> PostFilter:
    """The filter of a listing or an export, over what ``actor`` may see. A blank ``q`` is no
    search; one with no word in it (``%``) matches nothing.

    Raises ``InvalidValueError`` for a malformed tag or a search longer than 200 characters.
    """
    if q is not None and len(q) > QUERY_MAX:
        raise InvalidValueError("q", f"must be at most {QUERY_MAX} characters")
    return PostFilter(
        visibility=PostPolicy.visibility(actor),
        tag=None if tag is None else tag_name(tag),
        author_id=author_id,
        published=published,
        words=None if q is None or not q.strip() else words(q),
    )


class ListPosts:
    """Posts the actor may see (published ones; an author also their drafts; an admin
    everything), filtered by ``tag``, ``author_id``, ``published`` and ``q``, sorted, paged.

    A listing that can only show published posts (an anonymous caller's, or any with
    ``published=true``) is the same for everyone and is served from the cache; it is never
    older than a write that has returned.
    """

    def __init__(self, uow: PostUnitOfWork, cache: Cache) -> None:
        self._uow = uow
        self._cache = cache

    async def __call__(self, cmd: ListPostsCommand) -> Page[Post]:
        request = PageRequest(cmd.page, cmd.size)
        post_filter_ = post_filter(cmd.actor, cmd.tag, cmd.author_id, cmd.published, cmd.q)
        if post_filter_.published is True:
            post_filter_ = PostFilter(
                tag=post_filter_.tag, author_id=post_filter_.author_id, published=True, words=post_filter_.words
            )
        query = PostQuery(filter=post_filter_, sort=cmd.sort, page=request)
        if post_filter_.visibility != Visibility():
            return await self._load(query)
        lookup = await self._cache.get(PUBLIC_CONTENT, _key(query), CachedPage)
        if lookup.value is not None:
            return Page(items=list(lookup.value.items), request=request, total=lookup.value.total)
        page = await self._load(query)
        await self._cache.put(lookup, CachedPage(items=tuple(page.items), total=page.total), CACHE_TTL)
        return page

    async def _load(self, query: PostQuery) -> Page[Post]:
        async with self._uow as uow:
            return await uow.posts.list(query)


def _key(query: PostQuery) -> str:
    """Every field of the query, so two queries share a key only if they match alike (a
    search with no words, which matches nothing, is not the same as no search)."""
    f = query.filter
    search = "-" if f.words is None else "q:" + " ".join(sorted(f.words))  # all required: order is moot
    return f"posts:{f.tag}:{f.author_id}:{f.published}:{query.sort.value}:{query.page.page}:{query.page.size}:{search}"
