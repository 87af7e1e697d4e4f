"""The ``OutboxReader`` contract, held by the SQL (SQLite, PostgreSQL) and memory adapters."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from adapters.sql.engine import create_engine
from adapters.sql.outbox_reader import SqlOutboxReader
from adapters.system.clock import FixedClock
from application.shared.outbox import OutboxReader
from tests.integration.test_identity_repositories import a_user
from tests.support.builders import T0
from tests.support.outbox import LEASE, Outbox, sql_outbox


def _emails(batch: Any) -> list[str]:
    return [envelope.payload["email"] for envelope in batch.envelopes]


async def test_claims_committed_events_oldest_first_up_to_the_limit(store: Outbox) -> None:
    await store.commit_users("a@example.com", "b@example.com", "c@example.com")
    batch = await store.reader.claim(2, LEASE)
    assert _emails(batch) == ["a@example.com", "b@example.com"]
    assert [envelope.name for envelope in batch.envelopes] == ["user.registered"] * 2
    assert batch.lease_until == T0 + LEASE
    assert _emails(await store.reader.claim(10, LEASE)) == ["c@example.com"]
    assert (await store.reader.claim(10, LEASE)).envelopes == []


async def test_an_uncommitted_event_is_never_claimed(store: Outbox) -> None:
    async with store.new_unit() as uow:
        await uow.users.add(a_user())
    assert (await store.reader.claim(10, LEASE)).envelopes == []


async def test_marked_events_are_never_claimed_again(store: Outbox) -> None:
    await store.commit_users("a@example.com", "b@example.com")
    batch = await store.reader.claim(10, LEASE)
    assert await store.reader.mark_done(batch) == 2
    store.clock.advance(LEASE * 10)
    assert (await store.reader.claim(10, LEASE)).envelopes == []
    assert await store.reader.oldest_pending() is None


async def test_an_expired_lease_lets_another_relay_claim_and_the_first_cannot_mark(store: Outbox) -> None:
    await store.commit_users("a@example.com")
    first = await store.reader.claim(10, LEASE)
    assert (await store.new_reader().claim(10, LEASE)).envelopes == []  # held
    store.clock.advance(LEASE + timedelta(seconds=1))
    second = await store.new_reader().claim(10, LEASE)
    assert [e.event_id for e in second.envelopes] == [e.event_id for e in first.envelopes]
    assert await store.reader.mark_done(first) == 0  # the lease went to the second relay
    assert await store.reader.mark_done(second) == 1


async def test_a_released_batch_is_claimed_at_once_but_not_what_was_marked(store: Outbox) -> None:
    await store.commit_users("a@example.com", "b@example.com")
    batch = await store.reader.claim(10, LEASE)
    first_only = type(batch)(token=batch.token, lease_until=batch.lease_until, envelopes=batch.envelopes[:1])
    assert await store.reader.mark_done(first_only) == 1
    assert await store.reader.release(batch) == 1  # only b was still held
    again = await store.new_reader().claim(10, LEASE)  # no lease to wait out
    assert _emails(again) == ["b@example.com"]
    assert await store.reader.release(batch) == 0  # the old claim holds nothing any more
    assert await store.reader.mark_done(again) == 1


async def test_oldest_pending_is_the_age_of_the_oldest_unpublished_event(store: Outbox) -> None:
    assert await store.reader.oldest_pending() is None
    await store.commit_users("a@example.com", "b@example.com")
    assert await store.reader.oldest_pending() == T0
    batch = await store.reader.claim(10, LEASE)
    assert await store.reader.oldest_pending() == T0  # claimed is not yet published
    await store.reader.mark_done(batch)
    assert await store.reader.oldest_pending() is None


async def test_the_envelope_round_trips(store: Outbox) -> None:
    user = a_user()
    async with store.new_unit() as uow:
        await uow.users.add(user)
        await uow.commit()
    [envelope] = (await store.reader.claim(10, LEASE)).envelopes
    assert (envelope.name, envelope.aggregate_type, envelope.aggregate_id) == ("user.registered", "user", str(user.id))
    assert envelope.occurred_at == user.created_at
    assert envelope.payload == {"user_id": str(user.id), "email": "ada@example.com", "role": "user"}
    assert (envelope.actor_id, envelope.request_id) == (None, None)


async def test_concurrent_relays_on_postgres_never_claim_one_event_twice(pg_url: str) -> None:
    clock = FixedClock(T0)
    engine = create_engine(pg_url, pool_size=8)
    try:
        store = sql_outbox(engine, clock)
        emails = [f"user{n}@example.com" for n in range(60)]
        await store.commit_users(*emails)
        relays = [SqlOutboxReader(engine, clock) for _ in range(6)]

        async def drain(reader: OutboxReader) -> list[str]:
            claimed: list[str] = []
            while batch := (await reader.claim(3, LEASE)).envelopes:
                claimed.extend(envelope.payload["email"] for envelope in batch)
                await asyncio.sleep(0)
            return claimed

        runs: list[Awaitable[list[str]]] = [drain(reader) for reader in relays]
        claimed = [email for run in await asyncio.gather(*runs) for email in run]
        assert sorted(claimed) == sorted(emails)  # every event once, none twice
    finally:
        await engine.dispose()
