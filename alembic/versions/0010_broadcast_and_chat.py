"""campaigns, deliveries, telegram_chats, bot_updates, chat_threads, chat_messages

Broadcast campaigns with one delivery row per (campaign, chat), the chats the bot knows
(subscribed, blocked), the webhook's updates (once per ``update_id``) and the chat threads
with their messages.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_RUNNING = sa.text("status = 'running'")
_PENDING = sa.text("status = 'pending'")
# As tables.py declares it: "= true" on PostgreSQL, "= 1" on SQLite, as the queries say it.
_SUBSCRIBED = sa.column("subscribed") == sa.true()


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sender_token", sa.String(length=64), nullable=True),
        sa.Column("sender_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_campaigns_created_by_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigns_created_by"), ["created_by"], unique=False)
        batch_op.create_index("ix_campaigns_created", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_campaigns_running",
            ["started_at", "id"],
            unique=False,
            postgresql_where=_RUNNING,
            sqlite_where=_RUNNING,
        )

    op.create_table(
        "deliveries",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=32), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_deliveries_campaign_id_campaigns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("campaign_id", "chat_id", name=op.f("pk_deliveries")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_campaign_status", ["campaign_id", "status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_deliveries_pending",
            ["campaign_id", "attempts", "chat_id"],
            unique=False,
            postgresql_where=_PENDING,
            sqlite_where=_PENDING,
        )

    op.create_table(
        "telegram_chats",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_telegram_chats")),
    )
    with op.batch_alter_table("telegram_chats", schema=None) as batch_op:
        batch_op.create_index(
            "ix_telegram_chats_subscribed",
            ["chat_id"],
            unique=False,
            postgresql_where=_SUBSCRIBED,
            sqlite_where=_SUBSCRIBED,
        )

    op.create_table(
        "bot_updates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_updates")),
        sa.UniqueConstraint("update_id", name=op.f("uq_bot_updates_update_id")),
    )

    op.create_table(
        "chat_threads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_threads")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_chat_threads_chat_id")),
    )
    with op.batch_alter_table("chat_threads", schema=None) as batch_op:
        batch_op.create_index("ix_chat_threads_last_message", ["last_message_at", "id"], unique=False)

    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["chat_threads.id"], name=op.f("fk_chat_messages_thread_id_chat_threads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
    )
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.create_index("ix_chat_messages_thread_created", ["thread_id", "created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_messages_thread_created")
    op.drop_table("chat_messages")

    with op.batch_alter_table("chat_threads", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_threads_last_message")
    op.drop_table("chat_threads")

    op.drop_table("bot_updates")

    with op.batch_alter_table("telegram_chats", schema=None) as batch_op:
        batch_op.drop_index("ix_telegram_chats_subscribed", postgresql_where=_SUBSCRIBED, sqlite_where=_SUBSCRIBED)
    op.drop_table("telegram_chats")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_pending", postgresql_where=_PENDING, sqlite_where=_PENDING)
        batch_op.drop_index("ix_deliveries_campaign_status")
    op.drop_table("deliveries")

    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index("ix_campaigns_running", postgresql_where=_RUNNING, sqlite_where=_RUNNING)
        batch_op.drop_index("ix_campaigns_created")
        batch_op.drop_index(batch_op.f("ix_campaigns_created_by"))
    op.drop_table("campaigns")
