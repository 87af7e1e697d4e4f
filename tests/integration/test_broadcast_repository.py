"""The campaign and delivery repositories' contract on every implementation: CAS, cascades,
the sender's lease, and the at-most-once delivery rows."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from application.errors import AlreadyExistsError
from domain.broadcast.campaign import Audience, Campaign, CampaignId, CampaignStatus
from domain.broadcast.delivery import Delivery, DeliveryError, DeliveryStatus, Stats
from domain.identity.user import User
from domain.shared.errors import VersionMismatchError
from domain.shared.pagination import PageRequest
from tests.integration.conftest import UowFactory
from tests.integration.test_identity_repositories import a_user, stored
from tests.support.builders import T0
from tests.support.units import sql_unit

LEASE = timedelta(seconds=30)
EARLIEST = datetime.min.replace(tzinfo=UTC)


def a_campaign(admin: User, *, minutes: int = 0, started: int | None = None, name: str = "News") -> Campaign:
    campaign = Campaign.create(
        campaign_id=CampaignId(uuid4()),
        name=name,
        text="Hello, subscribers!",
        audience=Audience.EXPLICIT,
        created_by=admin.id,
        now=T0 + timedelta(minutes=minutes),
    )
    if started is not None:
        campaign.start(T0 + timedelta(minutes=started))
    campaign.events.clear()
    return campaign


def fields(campaign: Campaign | None) -> tuple[Any, ...] | None:
    if campaign is None:
        return None
    return tuple(getattr(campaign, name) for name in Campaign.__dataclass_fields__ if name != "events")


async def an_admin(new_uow: UowFactory) -> User:
    admin = a_user("admin@example.com")
    await stored(new_uow, admin)
    return admin


async def added(new_uow: UowFactory, *campaigns: Campaign, chats: list[int] | None = None) -> None:
    async with new_uow() as uow:
        for campaign in campaigns:
            await uow.campaigns.add(campaign)
            if chats:
                await uow.deliveries.add_many(campaign.id, chats)
        await uow.commit()


async def test_a_campaign_reads_back_as_stored(new_uow: UowFactory) -> None:
    admin = await an_admin(new_uow)
    draft, running = a_campaign(admin), a_campaign(admin, started=5, name="Running")
    await added(new_uow, draft, running)
    async with new_uow() as uow:
        assert fields(await uow.campaigns.get(draft.id)) == fields(draft)
        assert fields(await uow.campaigns.get(running.id)) == fields(running)
        assert await uow.campaigns.get(CampaignId(uuid4())) is None


async def test_save_is_a_compare_and_set_on_the_version(new_uow: UowFactory) -> None:
    admin = await an_admin(new_uow)
    campaign = a_campaign(admin)
    await added(new_uow, campaign)
    async with new_uow() as uow:
        first, second = await uow.campaigns.get(campaign.id), await uow.campaigns.get(campaign.id)
    assert first is not None and second is not None
    first.start(T0)
    second.cancel(T0)
    async with new_uow() as uow:
        await uow.campaigns.save(first)
        with pytest.raises(VersionMismatchError) as raised:
            await uow.campaigns.save(second)
        await uow.commit()
    assert (raised.value.expected, raised.value.actual) == (1, 2)
    async with new_uow() as uow:
        assert fields(await uow.campaigns.get(campaign.id)) == fields(first)


async def test_delete_checks_the_version_and_takes_the_deliveries(new_uow: UowFactory) -> None:
    admin = await an_admin(new_uow)
    campaign, other = a_campaign(admin), a_campaign(admin)
    await added(new_uow, campaign, other, chats=[1, 2, 3])
    stale = a_campaign(admin)
    stale.id, stale.version = campaign.id, 7
    async with new_uow() as uow:
        with pytest.raises(VersionMismatchError):
            await uow.campaigns.delete(stale)
    async with new_uow() as uow:
        await uow.campaigns.delete(campaign)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.campaigns.get(campaign.id) is None
        stats = await uow.deliveries.stats([campaign.id, other.id])
    assert stats == {campaign.id: Stats(), other.id: Stats(total=3, pending=3)}


async def test_deleting_the_creator_deletes_the_campaigns(new_uow: UowFactory) -> None:
    admin = await an_admin(new_uow)
    campaign = a_campaign(admin)
    await added(new_uow, campaign, chats=[1])
    async with new_uow() as uow:
        await uow.users.delete(admin)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.campaigns.get(campaign.id) is None
        assert await uow.deliveries.stats([campaign.id]) == {campaign.id: Stats()}


async def test_the_page_is_newest_first(new_uow: UowFactory) -> None:
    admin = await an_admin(new_uow)
    made = [a_campaign(admin, minutes=m, name=f"c{m}") for m in (2, 0, 1, 1)]
    await added(new_uow, *made)
    async with new_uow() as uow:
        first = await uow.campaigns.page(PageRequest(page=1, size=3))
        second = await uow.campaigns.page(PageRequest(page=2, size=3))
    expected = sorted(made, key=lambda c: (c.created_at, c.id), reverse=True)
    assert [c.id for c in [*first.items, *second.items]] == [c.id for c in expected]
    assert first.total == second.total == 4


async def test_the_sender_claims_running_campaigns_oldest_started_first(new_uow: UowFactory) -> None:
    admin = await an_admin(new_uow)
    draft, later, earlier = a_campaign(admin), a_campaign(admin, started=2), a_campaign(admin, started=1)
    await added(new_uow, draft, later, earlier)
    now = T0 + timedelta(minutes=10)
    async with new_uow() as uow:
        taken = [await uow.campaigns.claim_sender(now, now + LEASE, token) for token in ("a", "b", "c")]
        await uow.commit()
    assert [None if c is None else c.id for c in taken] == [earlier.id, later.id, None]
    lapsed = now + LEASE + timedelta(seconds=1)
    async with new_uow() as uow:
        assert await uow.campaigns.claim_sender(now + LEASE, now + 2 * LEASE, "d") is None  # not lapsed yet
        retaken = await uow.campaigns.claim_sender(lapsed, lapsed + LEASE, "e")
        assert await uow.campaigns.renew_sender(earlier.id, "a", lapsed + LEASE) is False
        assert await uow.campaigns.renew_sender(earlier.id, "e", lapsed + 2 * LEASE) is True
        await uow.commit()
    assert retaken is not None and retaken.id == earlier.id
    async with new_uow() as uow:  # leases are no user-visible change
        assert fields(await uow.campaigns.get(earlier.id)) == fields(earlier)


async def test_release_frees_the_lease_for_its_holder_only(new_uow: UowFactory) -> None:
    admin = await an_admin(new_uow)
    campaign = a_campaign(admin, started=0)
    await added(new_uow, campaign)
    async with new_uow() as uow:
        assert await uow.campaigns.claim_sender(T0, T0 + LEASE, "mine") is not None
        await uow.campaigns.release_sender(campaign.id, "theirs")
        assert await uow.campaigns.claim_sender(T0, T0 + LEASE, "other") is None
        await uow.campaigns.release_sender(campaign.id, "mine")
        again = await uow.campaigns.claim_sender(T0, T0 + LEASE, "other")
        await uow.commit()
    assert again is not None and again.id == campaign.id


async def test_a_saved_transition_keeps_the_lease_and_the_lease_keeps_the_version(new_uow: UowFactory) -> None:
    admin = await an_admin(new_uow)
    campaign = a_campaign(admin, started=0)
    await added(new_uow, campaign)
    async with new_uow() as uow:
        claimed = await uow.campaigns.claim_sender(T0, T0 + LEASE, "mine")
        assert claimed is not None and claimed.version == campaign.version == 2
        assert await uow.campaigns.renew_sender(campaign.id, "mine", T0 + 2 * LEASE)
        claimed.complete(T0 + timedelta(seconds=5))
        await uow.campaigns.save(claimed)
        assert await uow.campaigns.renew_sender(campaign.id, "mine", T0 + 3 * LEASE) is True
        await uow.commit()
    async with new_uow() as uow:
        done = await uow.campaigns.get(campaign.id)
        assert done is not None and (done.status, done.version) == (CampaignStatus.COMPLETED, 3)
        assert await uow.campaigns.claim_sender(T0 + 9 * LEASE, T0 + 10 * LEASE, "late") is None


async def _claim_together(engine: AsyncEngine, tokens: tuple[str, str]) -> list[CampaignId | None]:
    """Both claims run while both transactions are open; a claim that waited for the other's
    lock instead of skipping it would stall at the barrier (and time out)."""
    barrier = asyncio.Barrier(2)

    async def claim(token: str) -> CampaignId | None:
        async with sql_unit(engine) as uow:
            taken = await uow.campaigns.claim_sender(T0, T0 + LEASE, token)
            await asyncio.wait_for(barrier.wait(), timeout=5)
            await uow.commit()
        return None if taken is None else taken.id

    return list(await asyncio.gather(*(claim(token) for token in tokens)))


async def test_of_two_concurrent_claims_on_postgresql_one_gets_the_campaign(pg_engine: AsyncEngine) -> None:
    new_uow = lambda: sql_unit(pg_engine)  # noqa: E731
    admin = await an_admin(new_uow)
    only = a_campaign(admin, started=0)
    await added(new_uow, only)
    assert sorted(await _claim_together(pg_engine, ("a", "b")), key=str) == sorted([only.id, None], key=str)
    second = a_campaign(admin, started=1)
    await added(new_uow, second)
    async with new_uow() as uow:
        await uow.campaigns.release_sender(only.id, "a")
        await uow.campaigns.release_sender(only.id, "b")
        await uow.commit()
    assert set(await _claim_together(pg_engine, ("c", "d"))) == {only.id, second.id}


async def test_a_hundred_thousand_deliveries_insert_quickly_on_postgresql(pg_engine: AsyncEngine) -> None:
    new_uow = lambda: sql_unit(pg_engine)  # noqa: E731
    admin = await an_admin(new_uow)
    campaign = a_campaign(admin)
    chats = list(range(-50_000, 50_000))
    started = time.perf_counter()
    await added(new_uow, campaign, chats=chats)
    print(f"add_many(100,000) and commit: {time.perf_counter() - started:.2f} s")
    async with new_uow() as uow:
        assert await uow.deliveries.stats([campaign.id]) == {campaign.id: Stats(total=100_000, pending=100_000)}
        last = await uow.deliveries.page(campaign.id, PageRequest(page=1000, size=100))
    assert [d.chat_id for d in last.items] == list(range(49_900, 50_000))
    assert last.total == 100_000


async def test_a_recipient_gets_one_delivery_row_per_campaign(new_uow: UowFactory) -> None:
    admin = await an_admin(new_uow)
    campaign, other = a_campaign(admin), a_campaign(admin)
    await added(new_uow, campaign, chats=[1, 2])
    async with new_uow() as uow:
        with pytest.raises(AlreadyExistsError):
            await uow.deliveries.add_many(campaign.id, [3, 2])
    await added(new_uow, other, chats=[2])
    async with new_uow() as uow:
        assert await uow.deliveries.stats([campaign.id, other.id]) == {
            campaign.id: Stats(total=2, pending=2),
            other.id: Stats(total=1, pending=1),
        }


async def test_deliveries_move_only_by_compare_and_set_on_their_status(new_uow: UowFactory) -> None:
    admin = await an_admin(new_uow)
    campaign = a_campaign(admin, started=0)
    await added(new_uow, campaign, chats=[5, 4, 3, 2, 1, -1])
    at = T0 + timedelta(minutes=1)
    cid = campaign.id
    async with new_uow() as uow:
        deliveries = uow.deliveries
        await deliveries.mark_sent(cid, 1, at)  # pending: none of these apply
        await deliveries.mark_failed(cid, 1, DeliveryError.REJECTED)
        await deliveries.retry_at(cid, 1, at)
        assert not await deliveries.claim(cid, 1, "sender", T0)  # nobody holds the lease
        assert await uow.campaigns.claim_sender(T0, T0 + LEASE, "sender") is not None
        assert not await deliveries.claim(cid, 1, "another", T0)  # not the holder
        assert not await deliveries.claim(cid, 1, "sender", T0 + LEASE + timedelta(microseconds=1))  # lapsed
        assert [await deliveries.claim(cid, chat, "sender", T0 + LEASE) for chat in (1, 1, 2, 3, 4, 99)] == [
            True,
            False,
            True,
            True,
            True,
            False,
        ]
        await deliveries.mark_sent(cid, 2, at)
        await deliveries.mark_failed(cid, 3, DeliveryError.BLOCKED)
        await deliveries.retry_at(cid, 4, at)
        await deliveries.mark_sent(cid, 4, at)  # pending again: no effect
        await uow.commit()
    async with new_uow() as uow:
        page = await uow.deliveries.page(cid, PageRequest(size=10))
        assert await uow.deliveries.stats([cid]) == {cid: Stats(total=6, pending=4, sent=1, failed=1)}
        assert await uow.deliveries.unfinished(cid) == 4
    P, S = DeliveryStatus.PENDING, DeliveryStatus.SENDING
    assert [(d.chat_id, d.status, d.attempts, d.error, d.sent_at, d.next_attempt_at) for d in page.items] == [
        (-1, P, 0, None, None, None),
        (1, S, 1, None, None, None),
        (2, DeliveryStatus.SENT, 1, None, at, None),
        (3, DeliveryStatus.FAILED, 1, DeliveryError.BLOCKED, None, None),
        (4, P, 1, None, None, at),
        (5, P, 0, None, None, None),
    ]
    assert page.items[0] == Delivery(
        campaign_id=cid, chat_id=-1, status=P, attempts=0, error=None, sent_at=None, next_attempt_at=None
    )


async def test_due_deliveries_come_fewest_attempts_first_once_their_time_has_come(new_uow: UowFactory) -> None:
    admin = await an_admin(new_uow)
    campaign = a_campaign(admin, started=0)
    await added(new_uow, campaign, chats=[30, 10, 20])
    cid, later = campaign.id, T0 + timedelta(minutes=1)
    async with new_uow() as uow:
        assert await uow.campaigns.claim_sender(T0, T0 + LEASE, "sender") is not None
        assert await uow.deliveries.claim(cid, 10, "sender", T0)
        await uow.deliveries.retry_at(cid, 10, later)
        await uow.commit()
    async with new_uow() as uow:
        now_due = [d.chat_id for d in await uow.deliveries.due(cid, T0, 10)]
        later_due = [d.chat_id for d in await uow.deliveries.due(cid, later, 10)]
        limited = [d.chat_id for d in await uow.deliveries.due(cid, later, 2)]
        assert await uow.deliveries.next_due_at(cid) == EARLIEST  # 20 and 30 were never put off
        for chat in (20, 30):
            assert await uow.deliveries.claim(cid, chat, "sender", T0)
        assert await uow.deliveries.next_due_at(cid) == later
        assert await uow.deliveries.due(cid, T0, 10) == []
        assert await uow.deliveries.claim(cid, 10, "sender", T0)
        assert await uow.deliveries.next_due_at(cid) is None
    assert (now_due, later_due, limited) == ([20, 30], [20, 30, 10], [20, 30])


async def test_in_flight_and_pending_deliveries_end_in_bulk(new_uow: UowFactory) -> None:
    admin = await an_admin(new_uow)
    campaign, other = a_campaign(admin, started=0), a_campaign(admin, started=1)
    await added(new_uow, campaign, other, chats=[1, 2, 3, 4, 5])
    cid = campaign.id
    async with new_uow() as uow:
        assert fields(await uow.campaigns.claim_sender(T0, T0 + LEASE, "sender")) == fields(campaign)
        for chat in (1, 2, 3):
            assert await uow.deliveries.claim(cid, chat, "sender", T0)
        await uow.deliveries.mark_sent(cid, 3, T0)
        assert await uow.deliveries.fail_in_flight(cid) == 2
        assert await uow.deliveries.cancel_pending(cid) == 2
        assert (await uow.deliveries.fail_in_flight(cid), await uow.deliveries.cancel_pending(cid)) == (0, 0)
        assert await uow.deliveries.unfinished(cid) == 0
        await uow.commit()
    async with new_uow() as uow:
        errors = [d.error for d in (await uow.deliveries.page(cid, PageRequest())).items]
        stats = await uow.deliveries.stats([cid, other.id])
    unknown, cancelled = DeliveryError.UNKNOWN_OUTCOME, DeliveryError.CANCELLED
    assert errors == [unknown, unknown, None, cancelled, cancelled]
    assert stats == {cid: Stats(total=5, sent=1, failed=4), other.id: Stats(total=5, pending=5)}
    async with new_uow() as uow:  # every campaign's rows, as /metrics reports them
        assert await uow.deliveries.count_by_outcome() == {
            (DeliveryStatus.FAILED, unknown): 2,
            (DeliveryStatus.SENT, None): 1,
            (DeliveryStatus.FAILED, cancelled): 2,
            (DeliveryStatus.PENDING, None): 5,
        }


async def test_a_cancelled_campaigns_in_flight_rows_are_stranded_once_no_live_sender_holds_it(
    new_uow: UowFactory,
) -> None:
    admin = await an_admin(new_uow)
    stranded, running, idle = a_campaign(admin, started=0), a_campaign(admin, started=1), a_campaign(admin, started=2)
    await added(new_uow, stranded, running, idle, chats=[1, 2])
    async with new_uow() as uow:  # a sender takes the first, claims a row of each, and dies
        assert fields(await uow.campaigns.claim_sender(T0, T0 + LEASE, "dead")) == fields(stranded)
        # and an earlier sender, whose lease has lapsed by now, claimed one of running's
        earlier = T0 - timedelta(seconds=2)
        assert fields(await uow.campaigns.claim_sender(earlier, T0 - timedelta(seconds=1), "gone")) == fields(running)
        assert await uow.deliveries.claim(stranded.id, 1, "dead", T0)
        assert await uow.deliveries.claim(running.id, 1, "gone", earlier)
        stranded.cancel(T0)
        await uow.campaigns.save(stranded)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.campaigns.has_live_sender(stranded.id, T0 + LEASE) is True
        assert await uow.campaigns.has_live_sender(running.id, T0) is False
        assert await uow.deliveries.stranded(T0) == []  # the lease is live: its holder may record
        lapsed = T0 + LEASE + timedelta(seconds=1)
        assert await uow.campaigns.has_live_sender(stranded.id, lapsed) is False
        # running campaigns are the sender's to clean up; idle has nothing in flight
        assert await uow.deliveries.stranded(lapsed) == [stranded.id]
