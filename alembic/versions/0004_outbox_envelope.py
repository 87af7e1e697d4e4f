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
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
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


_OLD_NAMES = {new: old for old, (new, _, _) in _RENAMED.items()}
_BATCH = 1000


def _uuid7(at: datetime) -> uuid.UUID:
    """A UUIDv7 for an event that occurred at ``at``: converted rows keep their time order."""
    value = (int(at.timestamp() * 1000) << 80) | (int.from_bytes(os.urandom(10)) & ((1 << 80) - 1))
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return uuid.UUID(int=value)


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)  # as the codec writes it


def _batches(bind: sa.Connection, table: sa.TableClause, *columns: str) -> Iterator[list[Any]]:
    """The rows of ``table``, ``_BATCH`` at a time in id order, so a long outbox is never held whole."""
    last = 0
    while rows := list(
        bind.execute(
            sa.select(*(table.c[name] for name in ("id", *columns)))
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(_BATCH)
        )
    ):
        yield rows
        last = rows[-1].id


def _envelope_fields(name: str, payload: dict[str, Any], occurred_at: datetime) -> dict[str, Any]:
    public, aggregate_type, id_field = _RENAMED.get(name, (name, "unknown", ""))
    fields = {key: value for key, value in payload.items() if key != "occurred_at"}
    return {
        "new_name": public,
        "event_id": _uuid7(occurred_at),
        "aggregate_type": aggregate_type,
        "aggregate_id": str(fields.get(id_field, "")),
        "payload_text": _json(fields),
    }


def _new_columns() -> tuple[sa.Column[Any], ...]:
    return (
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("aggregate_type", sa.String(length=50), nullable=True),
        sa.Column("aggregate_id", sa.String(length=64), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("payload_text", sa.Text(), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.Uuid(), nullable=True),
    )


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        for column in _new_columns():
            batch_op.add_column(column)
    bind = op.get_bind()
    outbox = sa.table(
        "outbox",
        *(sa.column(name, type_) for name, type_ in (("id", sa.BigInteger()), ("name", sa.String()))),
        sa.column("payload", sa.JSON()),
        sa.column("occurred_at", sa.DateTime(timezone=True)),
        *(sa.column(column.name, column.type) for column in _new_columns()),
    )
    convert = (
        sa.update(outbox)
        .where(outbox.c.id == sa.bindparam("row_id"))
        .values(
            name=sa.bindparam("new_name"),
            **{name: sa.bindparam(name) for name in ("event_id", "aggregate_type", "aggregate_id", "payload_text")},
        )
    )
    for rows in _batches(bind, outbox, "name", "payload", "occurred_at"):
        bind.execute(
            convert,
            [{"row_id": row.id, **_envelope_fields(row.name, _loaded(row.payload), row.occurred_at)} for row in rows],
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("payload")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("payload_text", new_column_name="payload", existing_type=sa.Text(), nullable=False)
        for name, type_ in (("event_id", sa.Uuid()), ("aggregate_type", sa.String(50)), ("aggregate_id", sa.String(64))):
            batch_op.alter_column(name, existing_type=type_, nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_outbox_event_id"), ["event_id"])


def _loaded(payload: Any) -> dict[str, Any]:
    return dict(payload if isinstance(payload, dict) else json.loads(payload))


def downgrade() -> None:
    """Back to class names and payloads that carry ``occurred_at``, as revision 0003 wrote them."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_outbox_event_id"), type_="unique")
        batch_op.add_column(sa.Column("payload_json", sa.JSON(), nullable=True))
    bind = op.get_bind()
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.BigInteger()),
        sa.column("name", sa.String()),
        sa.column("payload", sa.Text()),
        sa.column("occurred_at", sa.DateTime(timezone=True)),
        sa.column("payload_json", sa.JSON()),
    )
    revert = (
        sa.update(outbox)
        .where(outbox.c.id == sa.bindparam("row_id"))
        .values(name=sa.bindparam("old_name"), payload_json=sa.bindparam("old_payload"))
    )
    for rows in _batches(bind, outbox, "name", "payload", "occurred_at"):
        bind.execute(revert, [_old_fields(row) for row in rows])
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        for column in reversed(_new_columns()):
            batch_op.drop_column("payload" if column.name == "payload_text" else column.name)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("payload_json", new_column_name="payload", existing_type=sa.JSON(), nullable=False)


def _old_fields(row: Any) -> dict[str, Any]:
    occurred_at = row.occurred_at if isinstance(row.occurred_at, datetime) else datetime.fromisoformat(row.occurred_at)
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    payload = {"occurred_at": occurred_at.isoformat(), **json.loads(row.payload)}
    return {"row_id": row.id, "old_name": _OLD_NAMES.get(row.name, row.name), "old_payload": payload}
