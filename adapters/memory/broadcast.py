"""In-memory repositories of the broadcast context, with the SQL adapter's semantics."""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from adapters.memory.database import detached
from adapters.memory.identity import InMemoryAuditLog
from adapters.memory.telegram_chats import InMemoryTelegramChatRepository
from adapters.memory.unit_of_work import InMemoryRepository, InMemoryUnitOfWork
from adapters.shared.unit_of_work import ContextUnitOfWork, repository
from application.broadcast.ports import BroadcastUnitOfWork, CampaignRepository, DeliveryRepository
from application.errors import AlreadyExistsError
from domain.broadcast.campaign import Campaign, CampaignId, CampaignStatus
from domain.broadcast.delivery import Delivery, DeliveryError, DeliveryStatus, Stats
from domain.shared.errors import VersionMismatchError
from domain.shared.ids import UserId
from domain.shared.pagination import Page, PageRequest

__all__ = [
    "BroadcastTables",
    "InMemoryBroadcastUnitOfWork",
    "InMemoryCampaignRepository",
    "InMemoryDeliveryRepository",
]

_BUCKETS = 256
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_PENDING, _SENDING = DeliveryStatus.PENDING, DeliveryStatus.SENDING


class _CampaignDeliveries:
    """One campaign's deliveries in buckets by chat id. A transaction's copy shares the
    buckets and copies one only when it writes there, so a write costs a bucket (a few
    hundred rows of a 100,000-recipient campaign), not the campaign."""

    __slots__ = ("_buckets", "_owned")

    def __init__(self, buckets: list[dict[int, Delivery]] | None = None) -> None:
        self._buckets = [{} for _ in range(_BUCKETS)] if buckets is None else buckets
        self._owned = set(range(_BUCKETS)) if buckets is None else set()

    def copy(self) -> _CampaignDeliveries:
        return _CampaignDeliveries(list(self._buckets))

    def get(self, chat_id: int) -> Delivery | None:
        return self._buckets[chat_id % _BUCKETS].get(chat_id)

    def put(self, delivery: Delivery) -> None:
        index = delivery.chat_id % _BUCKETS
        if index not in self._owned:
            self._buckets[index] = dict(self._buckets[index])
            self._owned.add(index)
        self._buckets[index][delivery.chat_id] = delivery

    def __iter__(self) -> Iterator[Delivery]:
        for bucket in self._buckets:
            yield from bucket.values()


@dataclass(frozen=True, slots=True)
class _Lease:
    token: str
    until: datetime


@dataclass(slots=True)
class BroadcastTables:
    campaigns: dict[CampaignId, Campaign] = field(default_factory=dict)
    leases: dict[CampaignId, _Lease] = field(default_factory=dict)
    """The sender's lease, apart from the campaign: taking it changes no version."""
    deliveries: dict[CampaignId, _CampaignDeliveries] = field(default_factory=dict)
    _copied: set[CampaignId] = field(default_factory=set)

    def copy(self) -> BroadcastTables:
        return BroadcastTables(
            campaigns=dict(self.campaigns), leases=dict(self.leases), deliveries=dict(self.deliveries)
        )

    def writable_deliveries(self, campaign_id: CampaignId) -> _CampaignDeliveries:
        """The campaign's deliveries, this copy's own (copied on the first write to them)."""
        if campaign_id not in self._copied:
            stored = self.deliveries.get(campaign_id)
            self.deliveries[campaign_id] = _CampaignDeliveries() if stored is None else stored.copy()
            self._copied.add(campaign_id)
        return self.deliveries[campaign_id]

    def drop_campaign(self, campaign_id: CampaignId) -> None:
        """The campaign and, as ``ON DELETE CASCADE`` on ``deliveries.campaign_id``, its deliveries."""
        self.campaigns.pop(campaign_id, None)
        self.leases.pop(campaign_id, None)
        self.deliveries.pop(campaign_id, None)

    def drop_user(self, user_id: UserId) -> None:
        """As ``ON DELETE CASCADE`` on ``campaigns.created_by``."""
        for campaign in [c for c in self.campaigns.values() if c.created_by == user_id]:
            self.drop_campaign(campaign.id)


class InMemoryCampaignRepository(InMemoryRepository[BroadcastTables], CampaignRepository):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, BroadcastTables)

    async def add(self, campaign: Campaign) -> None:
        self._writable.campaigns[campaign.id] = detached(campaign)

    async def get(self, campaign_id: CampaignId) -> Campaign | None:
        stored = self._tables.campaigns.get(campaign_id)
        return None if stored is None else detached(stored)

    async def save(self, campaign: Campaign) -> None:
        self._expect(campaign.id, campaign.version - 1)
        self._writable.campaigns[campaign.id] = detached(campaign)

    async def delete(self, campaign: Campaign) -> None:
        self._expect(campaign.id, campaign.version)
        self._writable.drop_campaign(campaign.id)

    async def page(self, page: PageRequest) -> Page[Campaign]:
        ordered = sorted(self._tables.campaigns.values(), key=lambda c: (c.created_at, c.id), reverse=True)
        items = [detached(c) for c in ordered[page.offset : page.offset + page.size]]
        return Page(items=items, request=page, total=len(ordered))

    async def claim_sender(self, now: datetime, until: datetime, token: str) -> Campaign | None:
        tables = self._tables
        free = [
            c
            for c in tables.campaigns.values()
            if c.status is CampaignStatus.RUNNING and ((lease := tables.leases.get(c.id)) is None or lease.until < now)
        ]
        if not free:
            return None
        taken = min(free, key=lambda c: (c.started_at or _EARLIEST, c.id))
        self._writable.leases[taken.id] = _Lease(token, until)
        return detached(taken)

    async def renew_sender(self, campaign_id: CampaignId, token: str, until: datetime) -> bool:
        if not self._holds(campaign_id, token):
            return False
        self._writable.leases[campaign_id] = _Lease(token, until)
        return True

    async def release_sender(self, campaign_id: CampaignId, token: str) -> None:
        if self._holds(campaign_id, token):
            del self._writable.leases[campaign_id]

    async def announce(self, campaign: Campaign) -> None:
        pass  # the unit of work takes the campaign's events: see the port

    async def has_live_sender(self, campaign_id: CampaignId, now: datetime) -> bool:
        lease = self._tables.leases.get(campaign_id)
        return lease is not None and lease.until >= now

    def _holds(self, campaign_id: CampaignId, token: str) -> bool:
        lease = self._tables.leases.get(campaign_id)
        return lease is not None and lease.token == token

    def _expect(self, campaign_id: CampaignId, version: int) -> None:
        stored = self._tables.campaigns.get(campaign_id)
        if stored is None or stored.version != version:
            raise VersionMismatchError(expected=version, actual=None if stored is None else stored.version)


def _stats(rows: _CampaignDeliveries | None) -> Stats:
    return Stats.count(Counter(delivery.status.value for delivery in rows or ()))


class InMemoryDeliveryRepository(InMemoryRepository[BroadcastTables], DeliveryRepository):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, BroadcastTables)

    async def add_many(self, campaign_id: CampaignId, chat_ids: Sequence[int]) -> None:
        stored = self._tables.deliveries.get(campaign_id)
        if stored is not None and any(stored.get(chat_id) is not None for chat_id in chat_ids):
            raise AlreadyExistsError("delivery", "chat_id")  # the primary key, before any row is written
        rows = self._writable.writable_deliveries(campaign_id)
        for chat_id in chat_ids:
            rows.put(
                Delivery(
                    campaign_id=campaign_id, chat_id=chat_id, status=_PENDING, attempts=0, error=None, sent_at=None
                )
            )

    async def stats(self, campaign_ids: Sequence[CampaignId]) -> dict[CampaignId, Stats]:
        return {campaign_id: _stats(self._tables.deliveries.get(campaign_id)) for campaign_id in campaign_ids}

    async def count_by_outcome(self) -> dict[tuple[DeliveryStatus, DeliveryError | None], int]:
        counts: Counter[tuple[DeliveryStatus, DeliveryError | None]] = Counter()
        for campaign_id in self._tables.deliveries:
            counts.update((d.status, d.error) for d in self._rows(campaign_id))
        return dict(counts)

    async def page(self, campaign_id: CampaignId, page: PageRequest) -> Page[Delivery]:
        ordered = sorted(self._rows(campaign_id), key=lambda d: d.chat_id)
        return Page(items=ordered[page.offset : page.offset + page.size], request=page, total=len(ordered))

    async def due(self, campaign_id: CampaignId, now: datetime, limit: int) -> builtins.list[Delivery]:
        due = [
            d
            for d in self._rows(campaign_id)
            if d.status is _PENDING and (d.next_attempt_at is None or d.next_attempt_at <= now)
        ]
        return sorted(due, key=lambda d: (d.attempts, d.chat_id))[:limit]

    async def claim(self, campaign_id: CampaignId, chat_id: int, token: str, now: datetime) -> bool:
        lease = self._tables.leases.get(campaign_id)
        if lease is None or lease.token != token or lease.until < now:
            return False
        stored = self._in(campaign_id, chat_id, _PENDING)
        if stored is not None:
            self._put(replace(stored, status=_SENDING, attempts=stored.attempts + 1))
        return stored is not None

    async def mark_sent(self, campaign_id: CampaignId, chat_id: int, at: datetime) -> None:
        if (stored := self._in(campaign_id, chat_id, _SENDING)) is not None:
            self._put(replace(stored, status=DeliveryStatus.SENT, sent_at=at, error=None))

    async def mark_failed(self, campaign_id: CampaignId, chat_id: int, error: DeliveryError) -> None:
        if (stored := self._in(campaign_id, chat_id, _SENDING)) is not None:
            self._put(replace(stored, status=DeliveryStatus.FAILED, error=error))

    async def retry_at(self, campaign_id: CampaignId, chat_id: int, at: datetime) -> None:
        if (stored := self._in(campaign_id, chat_id, _SENDING)) is not None:
            self._put(replace(stored, status=_PENDING, next_attempt_at=at))

    async def fail_in_flight(self, campaign_id: CampaignId) -> int:
        return self._end_all(campaign_id, _SENDING, DeliveryError.UNKNOWN_OUTCOME)

    async def stranded(self, now: datetime) -> list[CampaignId]:
        tables = self._tables
        return [
            campaign.id
            for campaign in tables.campaigns.values()
            if campaign.status is CampaignStatus.CANCELLED
            and ((lease := tables.leases.get(campaign.id)) is None or lease.until < now)
            and any(d.status in (_SENDING, _PENDING) for d in self._rows(campaign.id))
        ]

    async def cancel_pending(self, campaign_id: CampaignId) -> int:
        return self._end_all(campaign_id, _PENDING, DeliveryError.CANCELLED)

    async def next_due_at(self, campaign_id: CampaignId) -> datetime | None:
        """A pending delivery never put off is due at once: the earliest instant (as SQL's)."""
        times = [d.next_attempt_at or _EARLIEST for d in self._rows(campaign_id) if d.status is _PENDING]
        return min(times, default=None)

    async def unfinished(self, campaign_id: CampaignId) -> int:
        return sum(1 for d in self._rows(campaign_id) if d.status in (_PENDING, _SENDING))

    def _rows(self, campaign_id: CampaignId) -> Iterator[Delivery]:
        return iter(self._tables.deliveries.get(campaign_id) or ())

    def _in(self, campaign_id: CampaignId, chat_id: int, status: DeliveryStatus) -> Delivery | None:
        """The delivery, if it is in ``status`` (the compare of compare-and-set)."""
        rows = self._tables.deliveries.get(campaign_id)
        stored = None if rows is None else rows.get(chat_id)
        return stored if stored is not None and stored.status is status else None

    def _put(self, delivery: Delivery) -> None:
        self._writable.writable_deliveries(delivery.campaign_id).put(delivery)

    def _end_all(self, campaign_id: CampaignId, status: DeliveryStatus, error: DeliveryError) -> int:
        ending = [d for d in self._rows(campaign_id) if d.status is status]
        for delivery in ending:
            self._put(replace(delivery, status=DeliveryStatus.FAILED, error=error))
        return len(ending)


class InMemoryBroadcastUnitOfWork(ContextUnitOfWork[InMemoryUnitOfWork], BroadcastUnitOfWork):
    campaigns = repository(InMemoryCampaignRepository)
    deliveries = repository(InMemoryDeliveryRepository)
    chats = repository(InMemoryTelegramChatRepository)
    audit_log = repository(InMemoryAuditLog)
