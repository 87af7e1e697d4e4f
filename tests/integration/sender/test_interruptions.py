"""The campaign sender interrupted: a lost lease, a pacer outage, a stop, a cancel mid-send,
and what a dead sender left behind."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from adapters.memory.send_pacer import InMemorySendPacer
from application.broadcast.sender import SenderRules
from application.errors import DependencyUnavailableError
from application.telegram.client import BotInfo, SendResult, TelegramClient
from domain.broadcast.campaign import CampaignId, CampaignStatus
from domain.broadcast.delivery import DeliveryError, DeliveryStatus
from tests.integration.sender.world import World, a_running_campaign, deliveries, status, until
from tests.support.fake_telegram import retry_after


class _Hooked(TelegramClient):
    """The real client, with ``before`` run ahead of each ``send_message``."""

    def __init__(self, inner: TelegramClient, before: Callable[[int], Awaitable[None]]) -> None:
        self._inner, self._before = inner, before

    @property
    def configured(self) -> bool:
        return True

    async def send_message(self, chat_id: int, text: str) -> SendResult:
        await self._before(chat_id)
        return await self._inner.send_message(chat_id, text)

    async def get_me(self) -> BotInfo:
        return await self._inner.get_me()

    async def set_webhook(self, url: str, secret_token: str) -> None:
        await self._inner.set_webhook(url, secret_token)


async def test_a_sender_whose_lease_went_to_another_claims_nothing_more_and_stops(world: World) -> None:
    chats = [1, 2, 3, 4]
    campaign_id = await a_running_campaign(world, chats)

    async def another_sender_takes_over(chat_id: int) -> None:
        if chat_id == 1:  # as if this sender had been paused past its lease while sending
            later = datetime.now(UTC) + timedelta(hours=1)
            async with world.units() as uow:
                assert await uow.campaigns.claim_sender(later, later + timedelta(hours=1), "another") is not None
                await uow.commit()

    sender = world.sender(
        SenderRules(idle_poll=0.05, concurrency=1), telegram=_Hooked(world.telegram, another_sender_takes_over)
    )
    assert await asyncio.wait_for(sender.send_one_campaign(asyncio.Event()), 10)

    rows = await deliveries(world, campaign_id)
    assert (rows[1].status, len(world.fake.calls_for(1))) == (DeliveryStatus.SENT, 1)  # claimed before: recorded
    assert [(rows[c].status, rows[c].attempts, len(world.fake.calls_for(c))) for c in (2, 3, 4)] == [
        (DeliveryStatus.PENDING, 0, 0)
    ] * 3
    assert await status(world, campaign_id) is CampaignStatus.RUNNING
    async with world.units() as uow:  # the lease stays with the other sender
        assert await uow.campaigns.has_live_sender(campaign_id, datetime.now(UTC) + timedelta(hours=1))


class _FailingPacer(InMemorySendPacer):
    """Pacing as usual until the ``fail_at``-th reservation, which finds the store gone."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self._left = fail_at

    async def reserve(self, chat_id: int) -> float:
        self._left -= 1
        if self._left == 0:
            raise DependencyUnavailableError("redis")
        return await super().reserve(chat_id)


async def test_a_pacer_outage_lets_claimed_sends_finish_claims_nothing_more_and_raises_the_plain_error(
    world: World,
) -> None:
    chats = list(range(300, 316))
    campaign_id = await a_running_campaign(world, chats)
    world.fake.latency = 0.2  # sends in flight when the pacer fails
    sender = world.sender(SenderRules(idle_poll=0.05, concurrency=4), pacer=_FailingPacer(fail_at=6))

    with pytest.raises(DependencyUnavailableError):
        await asyncio.wait_for(sender.send_one_campaign(asyncio.Event()), 10)

    rows = await deliveries(world, campaign_id)
    sent = {c for c, d in rows.items() if d.status is DeliveryStatus.SENT}
    assert {c for c, d in rows.items() if d.status is DeliveryStatus.PENDING} == set(chats) - sent
    assert 1 <= len(sent) <= 8  # the sends booked before the outage, each recorded: nothing left ``sending``
    assert {c for c in chats if world.fake.calls_for(c)} == sent
    assert all(d.attempts == 0 for c, d in rows.items() if c not in sent)


async def test_stop_mid_batch_claims_nothing_more_and_records_what_was_in_flight(world: World) -> None:
    chats = list(range(400, 440))
    campaign_id = await a_running_campaign(world, chats)
    stop = asyncio.Event()
    sends = 0

    async def stop_at_the_third(chat_id: int) -> None:
        nonlocal sends
        sends += 1
        if sends == 3:  # claimed already: it goes out and is recorded
            stop.set()

    sender = world.sender(
        SenderRules(idle_poll=0.05, concurrency=2), telegram=_Hooked(world.telegram, stop_at_the_third)
    )
    assert await asyncio.wait_for(sender.send_one_campaign(stop), 10)

    rows = await deliveries(world, campaign_id)
    sent = {c for c, d in rows.items() if d.status is DeliveryStatus.SENT}
    assert 3 <= len(sent) <= 4  # the third, and one more already claimed at most
    assert all(rows[c].status is DeliveryStatus.PENDING and rows[c].attempts == 0 for c in set(chats) - sent)
    assert await status(world, campaign_id) is CampaignStatus.RUNNING


async def _cancelled(world: World, campaign_id: CampaignId, at: datetime) -> None:
    async with world.units() as uow:
        campaign = await uow.campaigns.get(campaign_id)
        assert campaign is not None
        campaign.cancel(at)
        await uow.campaigns.save(campaign)
        await uow.deliveries.cancel_pending(campaign_id)
        await uow.commit()


async def test_what_a_dead_sender_stranded_is_swept_while_a_long_campaign_is_driven(world: World) -> None:
    long = await a_running_campaign(world, list(range(600, 700)))  # four seconds of sending at least
    stop = asyncio.Event()
    running = asyncio.create_task(world.sender(SenderRules(idle_poll=0.05, sweep_every=0.1)).run(stop))
    try:
        await until(lambda: world.fake.accepted_count() > 0)  # driving the long one: swept once already
        stranded = await a_running_campaign(world, [1, 2])
        earlier = datetime.now(UTC) - timedelta(seconds=2)
        async with world.units() as uow:  # a sender claimed chat 1 and died; then an admin cancelled
            taken = await uow.campaigns.claim_sender(earlier, earlier + timedelta(seconds=1), "dead")
            assert taken is not None and taken.id == stranded
            assert await uow.deliveries.claim(stranded, 1, "dead", earlier)
            await uow.commit()
        await _cancelled(world, stranded, earlier)
        for _ in range(100):
            if (await deliveries(world, stranded))[1].status is DeliveryStatus.FAILED:
                break
            await asyncio.sleep(0.05)
        row = (await deliveries(world, stranded))[1]
        assert (row.status, row.error) == (DeliveryStatus.FAILED, DeliveryError.UNKNOWN_OUTCOME)
        assert await status(world, long) is CampaignStatus.RUNNING  # swept meanwhile, not after
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)


async def test_a_send_in_flight_at_the_cancel_that_comes_back_unsent_ends_cancelled(world: World) -> None:
    campaign_id = await a_running_campaign(world, [1, 2])
    world.fake.script(1, retry_after(1, times=1))

    async def cancel_first(chat_id: int) -> None:
        if chat_id == 1:  # claimed, on its way: the admin cancels now
            await _cancelled(world, campaign_id, datetime.now(UTC))

    sender = world.sender(SenderRules(idle_poll=0.05, concurrency=1), telegram=_Hooked(world.telegram, cancel_first))
    assert await asyncio.wait_for(sender.send_one_campaign(asyncio.Event()), 10)

    rows = await deliveries(world, campaign_id)
    assert [(rows[c].status, rows[c].error) for c in (1, 2)] == [(DeliveryStatus.FAILED, DeliveryError.CANCELLED)] * 2
    assert world.fake.accepted_count() == 0
