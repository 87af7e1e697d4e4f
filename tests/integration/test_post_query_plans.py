"""The post listing's real statements use the indexes on PostgreSQL, at 100,000 posts."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

import asyncpg  # type: ignore[import-untyped]  # no stubs
import pytest
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from adapters.sql.post_listing import listing, matching  # what the repository runs
from application.posts.ports import PostFilter, PostQuery, PostSort, Visibility
from domain.shared.ids import UserId

pytestmark = pytest.mark.postgres

_SEED = """
INSERT INTO users (id, email, display_name, password_hash, role, is_active, created_at, updated_at, email_verified)
VALUES ($1, 'plans@example.com', 'Plans', 'h', 'user', true, now(), now(), true);
"""
_POSTS = """
INSERT INTO tags (name) SELECT 'tag' || g FROM generate_series(0, 49) AS g;
INSERT INTO posts (id, author_id, slug, title, content, tags, published, image_key, version, created_at, updated_at)
SELECT gen_random_uuid(), '{author}', 'post-' || g, 'Title ' || g, 'common words and word' || g, 'tag' || (g % 50),
       g % 10 <> 0, NULL, 1, timestamptz '2026-01-01' + g * interval '1 minute',
       timestamptz '2026-01-01' + g * interval '1 minute'
FROM generate_series(1, 100000) AS g;
INSERT INTO post_tags (post_id, tag_id) SELECT p.id, t.id FROM posts p JOIN tags t ON t.name = p.tags;
ANALYZE posts, tags, post_tags;
"""


@pytest.fixture
async def many_posts(pg_url: str) -> Any:
    connection = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    author = uuid4()
    await connection.execute(_SEED, author)
    await connection.execute(_POSTS.format(author=author))
    yield connection
    await connection.close()


async def plan(connection: Any, query: PostQuery) -> str:
    dialect = asyncpg_dialect()  # type: ignore[no-untyped-call]
    found = matching("postgresql", query.filter)
    assert found is not None
    page, _ = listing("postgresql", query.sort, found.shape)
    compiled = page._compiled(dialect)
    arguments = compiled.arguments({**found.parameters, "limit": query.page.size, "offset": 0})
    rows = await connection.fetch(f"EXPLAIN {compiled.sql}", *arguments)
    return "\n".join(row[0] for row in rows)


# The index of each sort's column, as in ix_posts_<column>, ix_posts_published_<column>, ...
_INDEXED = {"created_at": "created", "updated_at": "updated", "title": "title"}
_SORT_NODE = re.compile(r"(^|->\s+)(Incremental )?Sort\s+\(", re.MULTILINE)  # a node, not a "Sort Key"


async def the_author(connection: Any) -> UserId:
    """The author of every post, and so of 10,000 drafts."""
    return UserId(await connection.fetchval("SELECT id FROM users WHERE email = 'plans@example.com'"))


def walks_in_order(found: str) -> bool:
    """The plan reads no table whole and sorts nothing: its index scans yield the order."""
    return "Seq Scan on posts" not in found and not _SORT_NODE.search(found) and "Index Scan" in found


async def test_the_listings_walk_indexes(many_posts: Any) -> None:
    default = await plan(many_posts, PostQuery())
    # Most posts are published, so ix_posts_created (filtering drafts out) serves as well.
    assert walks_in_order(default), default
    assert re.search(r"Index Scan Backward using ix_posts_(published_)?created on posts", default), default

    tagged = await plan(many_posts, PostQuery(PostFilter(tag="tag7")))
    assert "Seq Scan on posts" not in tagged and "Index" in tagged, tagged

    searched = await plan(many_posts, PostQuery(PostFilter(words=("word4242",))))
    assert "Bitmap Index Scan on ix_posts_search" in searched, searched


async def test_an_admins_listing_walks_the_index_of_each_sort(many_posts: Any) -> None:
    for sort in PostSort:  # one seeding for every sort
        found = await plan(many_posts, PostQuery(PostFilter(Visibility(everything=True)), sort))
        index = f"ix_posts_{_INDEXED[sort.value.lstrip('-')]}"
        assert walks_in_order(found) and re.search(rf"Index Scan (Backward )?using {index} on posts", found), found


async def test_an_authors_listing_merges_the_published_posts_with_their_drafts(many_posts: Any) -> None:
    author = await the_author(many_posts)
    for sort in PostSort:
        found = await plan(many_posts, PostQuery(PostFilter(Visibility(drafts_of=author)), sort))
        column = _INDEXED[sort.value.lstrip("-")]
        assert "Merge Append" in found and walks_in_order(found), found
        # The published posts on the sort's index or the published one's; the drafts on the
        # author's, from exactly their range of it.
        assert re.search(rf"using ix_posts_(published_)?{column} on posts\b", found), found
        assert re.search(rf"using ix_posts_author_published_{column} on posts", found), found
        assert "Index Cond: ((author_id = " in found and "AND (published = false))" in found, found

    tagged = await plan(many_posts, PostQuery(PostFilter(Visibility(drafts_of=author), tag="tag7")))
    assert "Merge Append" in tagged and walks_in_order(tagged), tagged
    searched = await plan(many_posts, PostQuery(PostFilter(Visibility(drafts_of=author), words=("word4242",))))
    assert "Bitmap Index Scan on ix_posts_search" in searched, searched
