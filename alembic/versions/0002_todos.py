"""todos

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("todos",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("owner_id", sa.Uuid(), nullable=False),
    sa.Column("title", sa.String(length=200), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("completed", sa.Boolean(), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_todos_owner_id_users"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_todos"))
    )
    with op.batch_alter_table("todos", schema=None) as batch_op:
        batch_op.create_index("ix_todos_owner_completed_created", ["owner_id", "completed", "created_at", "id"], unique=False)
        batch_op.create_index("ix_todos_owner_created", ["owner_id", "created_at", "id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("todos", schema=None) as batch_op:
        batch_op.drop_index("ix_todos_owner_created")
        batch_op.drop_index("ix_todos_owner_completed_created")

    op.drop_table("todos")
