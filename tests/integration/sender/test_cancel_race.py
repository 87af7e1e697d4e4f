"""An admin's cancel racing the sender's completion of the campaign, on PostgreSQL, each
order forced by holding one side's compare-and-set write until the other has committed:
whichever write lands first wins, the loser changes nothing, no error escapes the sender,
and the campaign's status, its deliveries and what it announced agree."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.shared.unit_of_work import repository
from adapters.sql.broadcast import SqlBroadcastUnitOfWork, SqlCampaignRepository
from adapters.sql.unit_of_work import SqlUnitOfWork
from adapters.system.clock import SystemClock
from adapters.system.ids import Uuid7Generator
from application.broadcast.access import CampaignView
from application.broadcast.cancel_campaign import CancelCampaign
from application.shared.actor import Actor
from application.shared.audit import Audit
from application.shared.authorization import AdminOnly
from application.shared.events import Provenance
from domain.broadcast.campaign import Campaign, CampaignId, CampaignStatus
from domain.broadcast.delivery import DeliveryStatus, Stats
from domain.identity.ids import SessionId
from domain.identity.user import Role
from domain.shared.errors import IllegalTransitionError
from tests.integration.sender.world import Units, World, a_running_campaign, deliveries, status

pytestmark = pytest.mark.parametrize("stores", ["postgres"], indirect=True)

CHATS = [1, 2, 3]
Hook = Callable[[Campaign], Awaitable[None]]


def _hooked(engine: AsyncEngine, before_save: Hook) -> Units:
    """Units of work whose ``campaigns.save`` awaits ``before_save`` first."""

    class Campaigns(SqlCampaignRepository):
        async def save(self, campaign: Campaign) -> None:
            await before_save(campaign)
            await super().save(campaign)

    class Hooked(SqlBroadcastUnitOfWork):
        campaigns = repository(Campaigns)

    return lambda: Hooked(SqlUnitOfWork(engine))


async def _cancel(units: Units, world: World, campaign_id: CampaignId) -> CampaignView:
    clock = SystemClock()
    cancel = CancelCampaign(units(), AdminOnly(), clock, Audit(Provenance(), clock, Uuid7Generator()))
    return await cancel(Actor(world.author, SessionId(uuid4()), Role.ADMIN), campaign_id)


async def _announced(world: World, campaign_id: CampaignId) -> list[tuple[str, str | None]]:
    """The campaign's events in the outbox, in order: names, with the status of each progress."""
    batch = await world.outbox.claim(100, timedelta(seconds=30))
    return [
        (e.name, e.payload["status"] if e.name == "campaign.progress" else None)
        for e in batch.envelopes
        if e.aggregate_id == str(campaign_id)
    ]


async def _all_sent(world: World, campaign_id: CampaignId) -> None:
    rows = await deliveries(world, campaign_id)
    assert {chat: (d.status, d.error) for chat, d in rows.items()} == {c: (DeliveryStatus.SENT, None) for c in CHATS}
    assert {chat: len(world.fake.accepted_for(chat)) for chat in CHATS} == {c: 1 for c in CHATS}
    assert len(world.fake.calls) == len(CHATS)


async def test_a_cancel_landing_between_the_senders_last_look_and_its_completion_wins(
    world: World, pg_engine: AsyncEngine
) -> None:
    campaign_id = await a_running_campaign(world, CHATS)
    cancelled: list[CampaignView] = []

    async def cancel_first(campaign: Campaign) -> None:
        if campaign.status is CampaignStatus.COMPLETED and not cancelled:  # the sender read it running
            cancelled.append(await _cancel(world.units, world, campaign_id))

    racing = replace(world, units=_hooked(pg_engine, cancel_first))
    assert await asyncio.wait_for(racing.sender().send_one_campaign(asyncio.Event()), 10)  # nothing escaped

    [view] = cancelled
    assert (view.campaign.status, view.stats) == (CampaignStatus.CANCELLED, Stats(total=3, sent=3))
    assert await status(world, campaign_id) is CampaignStatus.CANCELLED
    await _all_sent(world, campaign_id)  # every message had gone out: nothing was left to cancel
    events = await _announced(world, campaign_id)
    assert ("campaign.completed", None) not in events  # the sender's write, and its events, were dropped
    assert events[-2:] == [("campaign.cancelled", None), ("campaign.progress", "cancelled")]
    async with world.units() as uow:
        assert not await uow.campaigns.has_live_sender(campaign_id, datetime.now(UTC))  # lease given back
    with pytest.raises(IllegalTransitionError):
        await _cancel(world.units, world, campaign_id)


async def test_a_cancel_that_read_the_campaign_running_loses_to_the_completion_with_a_conflict(
    world: World, pg_engine: AsyncEngine
) -> None:
    campaign_id = await a_running_campaign(world, CHATS)
    read, completed = asyncio.Event(), asyncio.Event()

    async def hold_the_write(campaign: Campaign) -> None:
        if campaign.status is CampaignStatus.CANCELLED:
            read.set()
            await completed.wait()

    cancelling = asyncio.create_task(_cancel(_hooked(pg_engine, hold_the_write), world, campaign_id))
    await asyncio.wait_for(read.wait(), 5)  # the cancel found it running, and has written nothing
    assert await asyncio.wait_for(world.sender().send_one_campaign(asyncio.Event()), 10)
    assert await status(world, campaign_id) is CampaignStatus.COMPLETED
    completed.set()

    with pytest.raises(IllegalTransitionError):  # tried again on the fresh state: 409
        await asyncio.wait_for(cancelling, 5)
    assert await status(world, campaign_id) is CampaignStatus.COMPLETED
    await _all_sent(world, campaign_id)
    events = await _announced(world, campaign_id)
    assert ("campaign.cancelled", None) not in events
    assert events[-2:] == [("campaign.completed", None), ("campaign.progress", "completed")]
    with pytest.raises(IllegalTransitionError):  # and a cancel after the completion, as plainly
        await _cancel(world.units, world, campaign_id)
