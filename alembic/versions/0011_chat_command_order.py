"""telegram_chats.command_message_id

The ``message_id`` of the last ``/start`` or ``/stop`` applied to a chat: the bot's jobs may
handle two commands of one chat out of order, and an older one must not undo a newer one.
Message ids increase within a chat; update ids do not always (after a week without
updates Telegram starts them again at random).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("telegram_chats", schema=None) as batch_op:
        batch_op.add_column(sa.Column("command_message_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("telegram_chats", schema=None) as batch_op:
        batch_op.drop_column("command_message_id")
