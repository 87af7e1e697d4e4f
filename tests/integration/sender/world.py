"""The campaign sender's test world: stores, the fake Bot API, and helpers to read the outcome."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from adapters.memory.send_pacer import InMemorySendPacer
from adapters.system.clock import SystemClock
from adapters.telegram.http_client import HttpTelegramClient
from application.broadcast.ports import BroadcastUnitOfWork
from application.broadcast.sender import CampaignSender, SenderRules
from application.shared.outbox import OutboxReader
from application.telegram.client import TelegramClient
from application.telegram.pacing import SendPacer
from domain.broadcast.campaign import Audience, Campaign, CampaignId, CampaignStatus
from domain.broadcast.delivery import Delivery
from domain.shared.ids import UserId
from domain.shared.pagination import PageRequest
from tests.support.fake_telegram import FakeTelegram

__all__ = [
    "FAST",
    "Units",
    "World",
    "a_running_campaign",
    "deliveries",
    "status",
    "until",
    "with_slow_claims",
    "with_stalled_claims",
]

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


def with_stalled_claims(world: World, stall: float) -> World:
    """``world`` with units of work whose claims, from the first one on for ``stall``
    seconds, end only when the stall does (a paused process, or a database that stopped
    answering for a while): the sends waiting on them are late by different amounts."""
    ends: list[float] = []

    def held(started: float) -> float:
        if not ends:
            ends.append(started + stall)
        return ends[0] - started

    return dataclasses.replace(world, units=lambda: _SlowUnit(world.units(), held))  # type: ignore[arg-type]


def with_slow_claims(world: World, seconds: float) -> World:
    """``world`` with units of work in which a claim takes at least ``seconds`` from its
    start: a database slow all along, which delays every send alike."""
    return dataclasses.replace(world, units=lambda: _SlowUnit(world.units(), lambda _started: seconds))  # type: ignore[arg-type]


class _SlowUnit:
    """A unit of work as given, except that one which claimed a delivery ends later: the
    delay comes after the unit's own end, so the memory store's lock is not held through it
    and slow claims overlap as they would on PostgreSQL."""

    def __init__(self, inner: Any, extra: Callable[[float], float]) -> None:
        self._inner, self._extra = inner, extra
        self._claimed_at: float | None = None

    async def __aenter__(self) -> _SlowUnit:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> Any:
        suppressed = await self._inner.__aexit__(*exc)
        if self._claimed_at is not None:
            ends = self._claimed_at + self._extra(self._claimed_at)
            await asyncio.sleep(max(0.0, ends - asyncio.get_running_loop().time()))
        return suppressed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def deliveries(self) -> _NotingClaims:
        return _NotingClaims(self._inner.deliveries, self)

    def claimed(self) -> None:
        self._claimed_at = asyncio.get_running_loop().time()


class _NotingClaims:
    """A unit's deliveries, telling the unit when a claim starts."""

    def __init__(self, inner: Any, unit: _SlowUnit) -> None:
        self._inner, self._unit = inner, unit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def claim(self, *args: Any) -> bool:
        self._unit.claimed()
        claimed: bool = await self._inner.claim(*args)
        return claimed
