"""posts, tags, post_tags, files

Posts with their tags (normalized in ``tags``/``post_tags``, and denormalized into
``posts.tags`` for one-query reads) and the records of uploaded files. On PostgreSQL only,
``posts.search`` is a stored generated ``tsvector`` of the title and the content with a GIN
index, for word search; SQLite has no ``tsvector`` and searches without an index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column(
            "slug", sa.String(length=80, collation="C").with_variant(sa.String(length=80), "sqlite"), nullable=False
        ),
        # The "C" collation on PostgreSQL: titles sort by code point (see tables.py).
        sa.Column(
            "title", sa.String(length=200, collation="C").with_variant(sa.String(length=200), "sqlite"), nullable=False
        ),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("image_key", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_posts_author_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        sa.UniqueConstraint("slug", name=op.f("uq_posts_slug")),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index("ix_posts_published_created", ["published", "created_at", "id"], unique=False)
        batch_op.create_index("ix_posts_published_updated", ["published", "updated_at", "id"], unique=False)
        batch_op.create_index("ix_posts_published_title", ["published", "title", "id"], unique=False)
        batch_op.create_index(
            "ix_posts_author_published_created", ["author_id", "published", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_posts_author_published_updated", ["author_id", "published", "updated_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_posts_author_published_title", ["author_id", "published", "title", "id"], unique=False
        )
        batch_op.create_index("ix_posts_created", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_posts_updated", ["updated_at", "id"], unique=False)
        batch_op.create_index("ix_posts_title", ["title", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # ASCII punctuation becomes a space before parsing, so that PostgreSQL's parser
        # splits words exactly where the application does (domain/posts/search.py): it
        # would otherwise keep an e-mail address, a host name, a path or "3.14" as one
        # token. An explicit class, not [[:punct:]], whose meaning follows the locale.
        op.execute(
            "ALTER TABLE posts ADD COLUMN search tsvector GENERATED ALWAYS AS ("
            "to_tsvector('simple'::regconfig, regexp_replace(title || ' ' || content, '[!-/:-@[-`{-~]+', ' ', 'g'))"
            ") STORED"
        )
        op.execute("CREATE INDEX ix_posts_search ON posts USING gin (search)")

    op.create_table(
        "tags",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_tags_name")),
    )

    op.create_table(
        "post_tags",
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", _BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name=op.f("fk_post_tags_post_id_posts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name=op.f("fk_post_tags_tag_id_tags"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("post_id", "tag_id", name=op.f("pk_post_tags")),
    )
    with op.batch_alter_table("post_tags", schema=None) as batch_op:
        batch_op.create_index("ix_post_tags_tag_post", ["tag_id", "post_id"], unique=False)

    op.create_table(
        "files",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_files_owner_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
        sa.UniqueConstraint("key", name=op.f("uq_files_key")),
    )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_files_owner_id"), ["owner_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_files_owner_id"))
    op.drop_table("files")

    with op.batch_alter_table("post_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_post_tags_tag_post")
    op.drop_table("post_tags")
    op.drop_table("tags")

    # Dropping the table drops its generated column and the GIN index with it, on PostgreSQL.
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_title")
        batch_op.drop_index("ix_posts_updated")
        batch_op.drop_index("ix_posts_created")
        batch_op.drop_index("ix_posts_author_published_title")
        batch_op.drop_index("ix_posts_author_published_updated")
        batch_op.drop_index("ix_posts_author_published_created")
        batch_op.drop_index("ix_posts_published_title")
        batch_op.drop_index("ix_posts_published_updated")
        batch_op.drop_index("ix_posts_published_created")
    op.drop_table("posts")
