"""outbox rows carry the event envelope and a relay lease

Each row gets the envelope's fields (event id, aggregate, actor, request id), its payload
as JSON text in the one encoding every adapter shares, and the lease a relay claims it
under. Rows written before this revision are converted: their class names become the
public names and their ids and aggregates are derived from the old payload.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

import sqlalchemy as sa

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Old class name -> (public name, aggregate type, payload field holding the aggregate id).
_RENAMED = {
    "UserRegistered": ("user.registered", "user", "user_id"),
    "UserRoleChanged": ("user.role_changed", "user", "user_id"),
    "PasswordChanged": ("user.password_changed", "user", "user_id"),
    "SessionStarted": ("session.started", "session", "session_id"),
    "SessionRevoked": ("session.revoked", "session", "session_id"),
    "TodoChanged": ("todo.changed", "todo", "todo_id"),
}


def _uuid7() -> uuid.UUID:
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10)) & ((1 << 80) - 1)
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return uuid.UUID(int=value)


def upgrade() -> None:
    bind = op.get_bind()
    old = sa.table(
        "outbox",
        sa.column("id", sa.BigInteger),
        sa.column("name", sa.String),
        sa.column("payload", sa.JSON),
    )
    rows: list[Any] = list(bind.execute(sa.select(old.c.id, old.c.name, old.c.payload)))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("aggregate_type", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("aggregate_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("actor_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("request_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("payload_text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claim_token", sa.Uuid(), nullable=True))
    new = sa.table(
        "outbox",
        sa.column("id", sa.BigInteger),
        sa.column("name", sa.String),
        sa.column("event_id", sa.Uuid),
        sa.column("aggregate_type", sa.String),
        sa.column("aggregate_id", sa.String),
        sa.column("payload_text", sa.Text),
    )
    for row in rows:
        payload = dict(row.payload if isinstance(row.payload, dict) else json.loads(row.payload))
        payload.pop("occurred_at", None)
        name, aggregate_type, id_field = _RENAMED.get(row.name, (row.name, "unknown", ""))
        bind.execute(
            sa.update(new)
            .where(new.c.id == row.id)
            .values(
                name=name,
                event_id=_uuid7(),
                aggregate_type=aggregate_type,
                aggregate_id=str(payload.get(id_field, "")),
                payload_text=json.dumps(payload, separators=(",", ":")),
            )
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("payload")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("payload_text", new_column_name="payload", existing_type=sa.Text(), nullable=False)
        batch_op.alter_column("event_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column("aggregate_type", existing_type=sa.String(length=50), nullable=False)
        batch_op.alter_column("aggregate_id", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_outbox_event_id"), ["event_id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_outbox_event_id"), type_="unique")
        batch_op.add_column(sa.Column("payload_json", sa.JSON(), nullable=True))
    bind = op.get_bind()
    table = sa.table("outbox", sa.column("id", sa.BigInteger), sa.column("payload", sa.Text), sa.column("payload_json", sa.JSON))
    for row in list(bind.execute(sa.select(table.c.id, table.c.payload))):
        bind.execute(sa.update(table).where(table.c.id == row.id).values(payload_json=json.loads(row.payload)))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        for column in ("payload", "claim_token", "claimed_until", "request_id", "actor_id", "aggregate_id",
                       "aggregate_type", "event_id"):
            batch_op.drop_column(column)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("payload_json", new_column_name="payload", existing_type=sa.JSON(), nullable=False)
