"""The post listing's real statements use the indexes on PostgreSQL, at 100,000 posts."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg  # type: ignore[import-untyped]  # no stubs
import pytest
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from adapters.sql.post_listing import listing, matching  # what the repository runs
from application.posts.ports import PostFilter, PostQuery

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


async def test_the_listings_walk_indexes(many_posts: Any) -> None:
    default = await plan(many_posts, PostQuery())
    assert "ix_posts_published_created" in default and "Seq Scan on posts" not in default, default

    tagged = await plan(many_posts, PostQuery(PostFilter(tag="tag7")))
    assert "Seq Scan on posts" not in tagged and "Index" in tagged, tagged

    searched = await plan(many_posts, PostQuery(PostFilter(words=("word4242",))))
    assert "Bitmap Index Scan on ix_posts_search" in searched, searched
