"""``SqlPostRepository``: posts with their tags."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Executable,
    Uuid,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from adapters.shared.slug_forms import family_range, numbered_forms
from adapters.shared.unit_of_work import ContextUnitOfWork, repository
from adapters.sql.audit import SqlAuditLog
from adapters.sql.errors import ConstraintErrors
from adapters.sql.files import SqlFileRepository
from adapters.sql.post_listing import export, listing, matching
from adapters.sql.session import SqlSession
from adapters.sql.statements import Query
from adapters.sql.tables import post_tags, posts, tags
from application.posts.ports import (
    ExportCursor,
    PostFilter,
    PostQuery,
    PostRepository,
    PostUnitOfWork,
    SlugTakenError,
    TagCount,
)
from domain.posts.post import Post, PostId, PostTitle
from domain.posts.slug import Slug
from domain.posts.tags import Tags
from domain.shared.errors import VersionMismatchError
from domain.shared.ids import UserId
from domain.shared.pagination import Page

__all__ = ["SqlPostRepository", "SqlPostUnitOfWork"]

_SLUG_TAKEN = ConstraintErrors(posts, {"uq_posts_slug": SlugTakenError})

_BY_ID = Query(select(posts).where(posts.c.id == bindparam("id")))
_BY_SLUG = Query(select(posts).where(posts.c.slug == bindparam("slug")))
# Slugs are only [a-z0-9-], so a family is one index range in code-point order (the "C"
# collation on PostgreSQL, as the unique index is): no LIKE, whose prefix search PostgreSQL
# serves from an index only in the "C" collation and SQLite only case-insensitively.
_SLUG_FAMILY = Query(select(posts.c.slug).where(posts.c.slug >= bindparam("low"), posts.c.slug < bindparam("high")))
_VERSION = Query(select(posts.c.version).where(posts.c.id == bindparam("id")))
_INSERT = Query(insert(posts).values({c.name: bindparam(c.name) for c in posts.c}))
_CHANGEABLE = ("title", "content", "tags", "published", "image_key", "version", "updated_at")
# Compare-and-set: the row changes only if it is still at the version the edit started from.
_UPDATE = Query(
    update(posts)
    .where(posts.c.id == bindparam("key_id"), posts.c.version == bindparam("key_version"))
    .values({name: bindparam(f"new_{name}") for name in _CHANGEABLE})
)
_DELETE = Query(delete(posts).where(posts.c.id == bindparam("key_id"), posts.c.version == bindparam("key_version")))
_UNTAG = Query(delete(post_tags).where(post_tags.c.post_id == bindparam("post_id")))

_TAG_COUNT = func.count().label("count")
_TAG_COUNTS = (
    select(tags.c.name, _TAG_COUNT)
    .join(post_tags, post_tags.c.tag_id == tags.c.id)
    .join(posts, posts.c.id == post_tags.c.post_id)
    .where(posts.c.published == true())
    .group_by(tags.c.name)
)
_TAG_COUNTS_BY_DIALECT = {
    "postgresql": Query(_TAG_COUNTS.order_by(_TAG_COUNT.desc(), tags.c.name.collate("C"))),
    "sqlite": Query(_TAG_COUNTS.order_by(_TAG_COUNT.desc(), tags.c.name)),
}


def _row(post: Post) -> dict[str, Any]:
    return {
        "id": post.id,
        "author_id": post.author_id,
        "slug": post.slug.value,
        "title": post.title.value,
        "content": post.content,
        "tags": " ".join(post.tags.names),
        "published": post.published,
        "image_key": post.image_key,
        "version": post.version,
        "created_at": post.created_at,
        "updated_at": post.updated_at,
    }


def _post(row: Any) -> Post:
    return Post(
        id=PostId(row["id"]),
        author_id=UserId(row["author_id"]),
        slug=Slug(row["slug"]),
        title=PostTitle(row["title"]),
        content=row["content"],
        tags=Tags(tuple(row["tags"].split())),
        published=row["published"],
        image_key=row["image_key"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _upsert_tags(dialect: str, names: Sequence[str]) -> Executable:
    """Insert the tags not stored yet; a concurrent insert of the same name is no error."""
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        dialect_insert(tags)
        .values([{"name": name} for name in names])
        .on_conflict_do_nothing(index_elements=[tags.c.name])
    )


def _link_tags(post_id: PostId, names: Sequence[str]) -> Executable:
    return insert(post_tags).from_select(
        ["post_id", "tag_id"], select(literal(post_id, Uuid), tags.c.id).where(tags.c.name.in_(names))
    )


class SqlPostRepository(PostRepository):
    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def add(self, post: Post) -> None:
        await self._db.attempt(_INSERT, _row(post), errors=_SLUG_TAKEN)
        await self._tag(post)

    async def used_slugs(self, slug: Slug) -> builtins.set[str]:
        low, high = family_range(slug)
        rows = (await self._db.read(_SLUG_FAMILY, {"low": low, "high": high})).rows
        return numbered_forms(slug, (row["slug"] for row in rows))

    async def get(self, post_id: PostId) -> Post | None:
        row = (await self._db.read(_BY_ID, {"id": post_id})).first()
        return None if row is None else _post(row)

    async def get_by_slug(self, slug: str) -> Post | None:
        row = (await self._db.read(_BY_SLUG, {"slug": slug})).first()
        return None if row is None else _post(row)

    async def save(self, post: Post) -> None:
        row = _row(post)
        changes = {f"new_{name}": row[name] for name in _CHANGEABLE}
        changes.update(key_id=post.id, key_version=post.version - 1)
        if (await self._db.write(_UPDATE, changes)).rowcount != 1:
            raise VersionMismatchError(expected=post.version - 1, actual=await self._stored_version(post.id))
        await self._db.write(_UNTAG, {"post_id": post.id})
        await self._tag(post)

    async def delete(self, post: Post) -> None:
        if (await self._db.write(_DELETE, {"key_id": post.id, "key_version": post.version})).rowcount != 1:
            raise VersionMismatchError(expected=post.version, actual=await self._stored_version(post.id))

    async def list(self, query: PostQuery) -> Page[Post]:
        found = matching(self._db.dialect, query.filter)
        if found is None:
            return Page(items=[], request=query.page, total=0)
        page_query, count_query = listing(self._db.dialect, query.sort, found.shape)
        page = {**found.parameters, "limit": query.page.size, "offset": query.page.offset}
        rows = (await self._db.read(page_query, page)).rows
        if query.page.offset == 0 and len(rows) < query.page.size:
            total = len(rows)  # a short first page is everything
        else:
            total = (await self._db.read(count_query, found.parameters)).rows[0]["total"]
        return Page(items=[_post(row) for row in rows], request=query.page, total=total)

    async def export_batch(
        self, post_filter: PostFilter, after: ExportCursor | None, limit: int
    ) -> builtins.list[Post]:
        found = matching(self._db.dialect, post_filter)
        if found is None:
            return []
        parameters: dict[str, Any] = {**found.parameters, "limit": limit}
        if after is not None:
            parameters.update(after_created_at=after.created_at, after_id=after.post_id)
        rows = (await self._db.read(export(self._db.dialect, after is not None, found.shape), parameters)).rows
        return [_post(row) for row in rows]

    async def tag_counts(self) -> builtins.list[TagCount]:
        rows = (await self._db.read(_TAG_COUNTS_BY_DIALECT[self._db.dialect])).rows
        return [TagCount(name=row["name"], count=int(row["count"])) for row in rows]

    async def _tag(self, post: Post) -> None:
        names = post.tags.names
        if names:
            await self._db.write(_upsert_tags(self._db.dialect, names))
            await self._db.write(_link_tags(post.id, names))

    async def _stored_version(self, post_id: PostId) -> int | None:
        row = (await self._db.read(_VERSION, {"id": post_id})).first()
        return None if row is None else int(row["version"])


class SqlPostUnitOfWork(ContextUnitOfWork[SqlSession], PostUnitOfWork):
    posts = repository(SqlPostRepository)
    files = repository(SqlFileRepository)
    audit_log = repository(SqlAuditLog)
