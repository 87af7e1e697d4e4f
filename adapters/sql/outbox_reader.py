"""``SqlOutboxReader``: relays claim committed outbox rows under a lease."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.shared.event_codec import COLUMNS, decode
from adapters.sql.tables import outbox
from adapters.sql.unit_of_work import SqlUnitOfWork
from adapters.system.ids import Uuid7Generator
from application.shared.outbox import ClaimedBatch, OutboxReader
from application.shared.ports import Clock, IdGenerator

__all__ = ["SqlOutboxReader"]


class SqlOutboxReader(OutboxReader):
    """Each call is its own short unit of work on a pooled connection.

    On PostgreSQL the claim picks rows ``FOR UPDATE SKIP LOCKED``: concurrent relays skip
    each other's rows instead of waiting or double-claiming. SQLite has one writer at a
    time, so its claim is serialized by the transaction itself.
    """

    def __init__(self, engine: AsyncEngine, clock: Clock, ids: IdGenerator | None = None) -> None:
        self._engine = engine
        self._clock = clock
        self._ids = ids or Uuid7Generator()

    async def claim(self, limit: int, lease: timedelta) -> ClaimedBatch:
        now = self._clock.now()
        token, until = self._ids.new_id(), now + lease
        claimable = (
            select(outbox.c.id)
            .where(
                outbox.c.published_at.is_(None),
                or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now),
            )
            .order_by(outbox.c.id)
            .limit(limit)
        )
        if self._engine.dialect.name == "postgresql":
            claimable = claimable.with_for_update(skip_locked=True)
        statement = (
            update(outbox)
            .where(outbox.c.id.in_(claimable.scalar_subquery()))
            .values(claimed_until=until, claim_token=token)
            .returning(outbox.c.id, *(outbox.c[name] for name in COLUMNS))
        )
        rows = await self._write(statement)
        rows.sort(key=lambda row: row["id"])
        return ClaimedBatch(token=token, lease_until=until, envelopes=[decode(row) for row in rows])

    async def mark_done(self, batch: ClaimedBatch) -> int:
        return await self._still_held(batch, published_at=self._clock.now(), claimed_until=None)

    async def release(self, batch: ClaimedBatch) -> int:
        return await self._still_held(batch, claimed_until=None, claim_token=None)

    async def _still_held(self, batch: ClaimedBatch, **changes: Any) -> int:
        """Apply ``changes`` to the batch's unpublished events this claim still holds; how many."""
        if not batch.envelopes:
            return 0
        statement = (
            update(outbox)
            .where(
                outbox.c.claim_token == batch.token,
                outbox.c.event_id.in_([envelope.event_id for envelope in batch.envelopes]),
                outbox.c.published_at.is_(None),
            )
            .values(**changes)
            .returning(outbox.c.id)
        )
        return len(await self._write(statement))

    async def oldest_pending(self) -> datetime | None:
        oldest = func.min(outbox.c.occurred_at).label("oldest")
        async with SqlUnitOfWork(self._engine) as unit:
            row = (await unit.session.read(select(oldest).where(outbox.c.published_at.is_(None)))).first()
        return None if row is None else row["oldest"]

    async def _write(self, statement: Any) -> list[dict[str, Any]]:
        # A unit of work of its own: a database that cannot be reached is
        # ``DependencyUnavailableError``, and the connection goes back to the pool cleanly.
        async with SqlUnitOfWork(self._engine) as unit:
            rows = [dict(row) for row in (await unit.session.write(statement)).rows]
            await unit.commit()
        return rows
