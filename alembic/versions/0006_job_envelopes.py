"""job records carry their event, a worker's lease and a version

The relay now records each job (with the event's envelope) before it queues it, so a
job can be listed while it waits, retried by an admin, and run by the in-process runner
of the embedded profile. A worker starts a job by compare-and-set on ``version`` and holds
it until ``lease_until``. Jobs were only ever
written by workers of the previous revision's code, which no release ran: the table is
empty, and the new column needs no backfill.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("envelope", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("envelope", server_default=None)
        batch.alter_column("version", server_default=None)
    op.create_index("ix_jobs_enqueued", "jobs", ["enqueued_at"], unique=False)
    op.create_index("ix_jobs_status_run_at", "jobs", ["status", "run_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_jobs_status_run_at", table_name="jobs")
    op.drop_index("ix_jobs_enqueued", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("version")
        batch.drop_column("lease_until")
        batch.drop_column("envelope")
