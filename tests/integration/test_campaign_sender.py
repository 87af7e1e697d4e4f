"""The campaign sender against the fake Bot API: each outcome class, at most once, paced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.broadcast import InMemoryBroadcastUnitOfWork
from adapters.memory.database import InMemoryDatabase
from adapters.memory.outbox import InMemoryOutboxReader
from adapters.memory.send_pacer import InMemorySendPacer
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.sql.broadcast import SqlBroadcastUnitOfWork
from adapters.sql.outbox_reader import SqlOutboxReader
from adapters.sql.unit_of_work import SqlUnitOfWork
from adapters.system.clock import SystemClock
from adapters.telegram.http_client import HttpTelegramClient
from application.broadcast.ports import BroadcastUnitOfWork
from application.broadcast.sender import CampaignSender, SenderRules
from application.errors import DependencyUnavailableError
from application.shared.outbox import OutboxReader
from application.telegram.client import BotInfo, SendResult, TelegramClient
from application.telegram.pacing import SendPacer
from domain.broadcast.campaign import Audience, Campaign, CampaignId, CampaignStatus
from domain.broadcast.delivery import Delivery, DeliveryError, DeliveryStatus
from domain.shared.ids import UserId
from domain.shared.pagination import PageRequest
from tests.integration.conftest import UowFactory
from tests.integration.test_identity_repositories import a_user, stored
from tests.support.fake_telegram import FakeTelegram, blocked, chat_not_found, drop, hang, retry_after, server_error
from tests.support.units import memory_unit, sql_unit

Units = Callable[[], BroadcastUnitOfWork]
FAST = SenderRules(idle_poll=0.05, renew_every=0.5)


@dataclass
class World:
    units: Units
    fake: FakeTelegram
    telegram: HttpTelegramClient
    author: UserId
    outbox: OutboxReader

    def sender(
        self, rules: SenderRules = FAST, *, telegram: TelegramClient | None = None, pacer: SendPacer | None = None
    ) -> CampaignSender:
        return CampaignSender(self.units, telegram or self.telegram, pacer or InMemorySendPacer(), SystemClock(), rules)


Stores = tuple[Units, UowFactory, OutboxReader]


@pytest.fixture(params=["memory", "postgres"])
def stores(request: pytest.FixtureRequest) -> Stores:
    """Fresh broadcast units of work, the contract suite's units, and the outbox, on one store."""
    if request.param == "memory":
        database = InMemoryDatabase()
        return (
            lambda: InMemoryBroadcastUnitOfWork(InMemoryUnitOfWork(database)),
            lambda: memory_unit(database),
            InMemoryOutboxReader(database, SystemClock()),
        )
    engine: AsyncEngine = request.getfixturevalue("pg_engine")
    return (
        lambda: SqlBroadcastUnitOfWork(SqlUnitOfWork(engine)),
        lambda: sql_unit(engine),
        SqlOutboxReader(engine, SystemClock()),
    )


@pytest.fixture
async def world(stores: Stores) -> AsyncIterator[World]:
    units, new_uow, outbox = stores
    user = a_user(f"{uuid4().hex[:8]}@example.com")
    await stored(new_uow, user)
    async with FakeTelegram(latency=0.005) as fake:
        telegram = HttpTelegramClient(fake.token, fake.api_base, read_timeout=0.5)
        try:
            yield World(units, fake, telegram, user.id, outbox)
        finally:
            await telegram.aclose()


async def until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` (the fake records from its own tasks: there is no event to await)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def a_running_campaign(world: World, chats: list[int]) -> CampaignId:
    campaign = Campaign.create(
        campaign_id=CampaignId(uuid4()),
        name="Launch",
        text="Hello!",
        audience=Audience.EXPLICIT,
        created_by=world.author,
        now=SystemClock().now(),
    )
    campaign.start(SystemClock().now())
    async with world.units() as uow:
        await uow.campaigns.add(campaign)
        await uow.deliveries.add_many(campaign.id, chats)
        await uow.commit()
    return campaign.id


async def deliveries(world: World, campaign_id: CampaignId) -> dict[int, Delivery]:
    async with world.units() as uow:
        page = await uow.deliveries.page(campaign_id, PageRequest(1, 100))
    return {d.chat_id: d for d in page.items}


async def status(world: World, campaign_id: CampaignId) -> CampaignStatus:
    async with world.units() as uow:
        campaign = await uow.campaigns.get(campaign_id)
    assert campaign is not None
    return campaign.status


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


async def test_what_a_dead_sender_stranded_is_swept_while_a_long_campaign_is_driven(world: World) -> None:
    stranded = await a_running_campaign(world, [1, 2])
    earlier = datetime.now(UTC) - timedelta(seconds=2)
    async with world.units() as uow:  # a sender claimed chat 1 and died; then an admin cancelled
        assert await uow.campaigns.claim_sender(earlier, earlier + timedelta(seconds=1), "dead") is not None
        assert await uow.deliveries.claim(stranded, 1, "dead", earlier)
        campaign = await uow.campaigns.get(stranded)
        assert campaign is not None
        campaign.cancel(earlier)
        await uow.campaigns.save(campaign)
        await uow.deliveries.cancel_pending(stranded)
        await uow.commit()
    long = await a_running_campaign(world, list(range(600, 700)))  # four seconds of sending at least
    stop = asyncio.Event()
    running = asyncio.create_task(world.sender(SenderRules(idle_poll=0.05, sweep_every=0.1)).run(stop))
    try:
        await until(lambda: world.fake.accepted_count() > 0)
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
