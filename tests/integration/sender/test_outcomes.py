"""The campaign sender against the fake Bot API: each outcome class, at most once, paced, with progress."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

from adapters.system.clock import SystemClock
from application.broadcast.sender import SenderRules
from domain.broadcast.campaign import CampaignStatus
from domain.broadcast.delivery import DeliveryError, DeliveryStatus
from tests.integration.sender.world import (
    FAST,
    World,
    a_running_campaign,
    deliveries,
    status,
    until,
    with_slow_claims,
    with_stalled_claims,
)
from tests.support.fake_telegram import blocked, chat_not_found, drop, hang, retry_after, server_error


async def test_every_outcome_class_ends_as_the_rules_say_with_one_call_unless_provably_unsent(world: World) -> None:
    fake = world.fake
    fake.script(2, retry_after(1, times=1))
    fake.script(3, blocked())
    fake.script(4, chat_not_found())
    fake.script(5, server_error())
    fake.script(6, hang())
    fake.script(7, drop())
    campaign_id = await a_running_campaign(world, [1, 2, 3, 4, 5, 6, 7])

    assert await asyncio.wait_for(world.sender().send_one_campaign(asyncio.Event()), 20)

    rows = await deliveries(world, campaign_id)
    expected = {
        1: (DeliveryStatus.SENT, None, 1),
        2: (DeliveryStatus.SENT, None, 2),  # 429, then sent after retry_after
        3: (DeliveryStatus.FAILED, DeliveryError.BLOCKED, 1),
        4: (DeliveryStatus.FAILED, DeliveryError.CHAT_NOT_FOUND, 1),
        5: (DeliveryStatus.FAILED, DeliveryError.UNKNOWN_OUTCOME, 1),
        6: (DeliveryStatus.FAILED, DeliveryError.UNKNOWN_OUTCOME, 1),
        7: (DeliveryStatus.FAILED, DeliveryError.UNKNOWN_OUTCOME, 1),
    }
    assert {chat: (d.status, d.error, d.attempts) for chat, d in rows.items()} == expected
    assert {chat: len(fake.calls_for(chat)) for chat in rows} == {1: 1, 2: 2, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1}
    assert all(len(fake.accepted_for(chat)) <= 1 for chat in rows)
    assert rows[1].sent_at is not None and rows[3].sent_at is None
    assert await status(world, campaign_id) is CampaignStatus.COMPLETED
    async with world.units() as uow:
        assert await uow.chats.blocked([3, 4]) == {3}


async def test_a_crashed_senders_in_flight_rows_fail_as_unknown_and_are_never_sent(world: World) -> None:
    campaign_id = await a_running_campaign(world, [10, 11, 12])
    earlier = datetime.now(UTC) - timedelta(seconds=2)
    async with world.units() as uow:  # a sender claimed 10 and died before recording; its lease has lapsed
        assert await uow.campaigns.claim_sender(earlier, earlier + timedelta(seconds=1), "dead") is not None
        assert await uow.deliveries.claim(campaign_id, 10, "dead", earlier)
        await uow.commit()

    assert await asyncio.wait_for(world.sender().send_one_campaign(asyncio.Event()), 10)

    rows = await deliveries(world, campaign_id)
    assert (rows[10].status, rows[10].error) == (DeliveryStatus.FAILED, DeliveryError.UNKNOWN_OUTCOME)
    assert world.fake.calls_for(10) == []
    assert [rows[c].status for c in (11, 12)] == [DeliveryStatus.SENT, DeliveryStatus.SENT]


async def test_a_cancelled_campaign_sends_nothing_more(world: World) -> None:
    campaign_id = await a_running_campaign(world, list(range(100, 160)))
    sender = world.sender(SenderRules(idle_poll=0.05, renew_every=0.5, batch=8, concurrency=2))
    stop = asyncio.Event()
    task = asyncio.create_task(sender.send_one_campaign(stop))
    await until(lambda: world.fake.accepted_count() >= 5)
    async with world.units() as uow:
        campaign = await uow.campaigns.get(campaign_id)
        assert campaign is not None
        campaign.cancel(SystemClock().now())
        await uow.campaigns.save(campaign)
        await uow.deliveries.cancel_pending(campaign_id)
        await uow.commit()
    cancelled_at = world.fake.accepted_count()
    await asyncio.wait_for(task, 10)
    rows = await deliveries(world, campaign_id)
    sent = [d for d in rows.values() if d.status is DeliveryStatus.SENT]
    # a send already claimed when the cancel committed may finish; nothing starts afterwards
    assert len(sent) == world.fake.accepted_count() <= cancelled_at + 2
    assert all(d.error is DeliveryError.CANCELLED for d in rows.values() if d.status is DeliveryStatus.FAILED)


async def test_sends_are_paced_to_one_per_chat_per_second_and_thirty_per_second(world: World) -> None:
    chats = list(range(1000, 1045))
    campaign_id = await a_running_campaign(world, chats)
    await asyncio.wait_for(world.sender().send_one_campaign(asyncio.Event()), 20)
    assert world.fake.accepted_count() == len(chats)
    assert world.fake.max_in_window(1.0) <= 30
    assert all(d.status is DeliveryStatus.SENT for d in (await deliveries(world, campaign_id)).values())


async def test_only_one_sender_drives_a_campaign(world: World) -> None:
    campaign_id = await a_running_campaign(world, list(range(2000, 2020)))
    stop = asyncio.Event()
    first, second = world.sender(), world.sender()
    results = await asyncio.wait_for(asyncio.gather(first.send_one_campaign(stop), second.send_one_campaign(stop)), 20)
    assert sorted(results) == [False, True]
    assert world.fake.accepted_count() == 20
    assert all(len(world.fake.accepted_for(chat)) == 1 for chat in range(2000, 2020))
    assert await status(world, campaign_id) is CampaignStatus.COMPLETED


async def test_progress_is_announced_after_each_batch_and_at_the_end(world: World) -> None:
    chats = list(range(500, 505))
    campaign_id = await a_running_campaign(world, chats)
    sender = world.sender(SenderRules(idle_poll=0.05, batch=2))
    assert await asyncio.wait_for(sender.send_one_campaign(asyncio.Event()), 10)

    batch = await world.outbox.claim(100, timedelta(seconds=30))
    progress = [
        e.payload for e in batch.envelopes if e.name == "campaign.progress" and e.aggregate_id == str(campaign_id)
    ]
    assert [(p["status"], p["stats"]["sent"]) for p in progress] == [
        ("running", 2),
        ("running", 4),
        ("running", 5),
        ("completed", 5),
    ]
    assert progress[-1] == {
        "campaign_id": str(campaign_id),
        "status": "completed",
        "stats": {"total": 5, "pending": 0, "sent": 5, "failed": 0},
    }


async def test_sends_whose_claims_stalled_leave_spaced_instead_of_arriving_together(world: World) -> None:
    """Twelve sends wait on their claims for 0.6 s, past their slots: sent as the claims
    end, they would arrive at once and, with the sends booked after them, break Telegram's
    30 a second; they leave ``send_spacing`` apart instead."""
    chats = list(range(3000, 3060))
    campaign_id = await a_running_campaign(world, chats)
    rules = dataclasses.replace(FAST, concurrency=12)
    await asyncio.wait_for(with_stalled_claims(world, 0.6).sender(rules).send_one_campaign(asyncio.Event()), 20)
    assert world.fake.accepted_count() == len(chats)
    assert world.fake.max_in_window(1.0) <= 30
    assert all(
        d.status is DeliveryStatus.SENT and d.attempts == 1 for d in (await deliveries(world, campaign_id)).values()
    )


async def test_claims_slow_all_along_do_not_slow_the_campaign(world: World) -> None:
    """Every claim 0.15 s slower delays every send alike, which bunches nothing: the
    campaign still goes out near the pacer's 25 a second (60 sends in 2.4 s; a sender that
    made such sends wait for fresh slots took 11 s)."""
    chats = list(range(4000, 4060))
    await a_running_campaign(world, chats)
    began = asyncio.get_running_loop().time()
    await asyncio.wait_for(with_slow_claims(world, 0.15).sender().send_one_campaign(asyncio.Event()), 20)
    assert world.fake.accepted_count() == len(chats)
    assert asyncio.get_running_loop().time() - began < 6.0
    assert world.fake.max_in_window(1.0) <= 30
