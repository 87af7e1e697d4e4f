"""``InMemoryOutboxReader``: the relay's side of the in-memory outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from adapters.memory.database import InMemoryDatabase, OutboxEntry
from adapters.shared.event_codec import decode
from adapters.system.ids import Uuid7Generator
from application.shared.outbox import ClaimedBatch, OutboxReader
from application.shared.ports import Clock, IdGenerator

__all__ = ["InMemoryOutboxReader"]


class InMemoryOutboxReader(OutboxReader):
    """Takes the database lock like a unit of work, so it never sees a block half-done."""

    def __init__(self, database: InMemoryDatabase, clock: Clock, ids: IdGenerator | None = None) -> None:
        self._database = database
        self._clock = clock
        self._ids = ids or Uuid7Generator()

    async def claim(self, limit: int, lease: timedelta) -> ClaimedBatch:
        async with self._database.lock:
            now = self._clock.now()
            token, until = self._ids.new_id(), now + lease
            claimed = [
                entry
                for entry in self._database.outbox
                if entry.published_at is None and (entry.claimed_until is None or entry.claimed_until <= now)
            ][:limit]
            for entry in claimed:
                entry.claimed_until, entry.claim_token = until, token
            return ClaimedBatch(token=token, lease_until=until, envelopes=[decode(entry.row) for entry in claimed])

    async def mark_done(self, batch: ClaimedBatch) -> int:
        now = self._clock.now()

        def publish(entry: OutboxEntry) -> None:
            entry.published_at, entry.claimed_until = now, None

        return await self._still_held(batch, publish)

    async def release(self, batch: ClaimedBatch) -> int:
        def let_go(entry: OutboxEntry) -> None:
            entry.claimed_until = entry.claim_token = None

        return await self._still_held(batch, let_go)

    async def _still_held(self, batch: ClaimedBatch, change: Callable[[OutboxEntry], None]) -> int:
        ids = {envelope.event_id for envelope in batch.envelopes}
        async with self._database.lock:
            held = [
                entry
                for entry in self._database.outbox
                if entry.row["event_id"] in ids and entry.claim_token == batch.token and entry.published_at is None
            ]
            for entry in held:
                change(entry)
            return len(held)

    async def oldest_pending(self) -> datetime | None:
        async with self._database.lock:
            pending = [entry.row["occurred_at"] for entry in self._database.outbox if entry.published_at is None]
            return min(pending, default=None)
