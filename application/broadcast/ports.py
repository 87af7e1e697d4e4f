"""Ports of the broadcast context."""

from __future__ import annotations

import builtins
from abc import abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from application.shared.audit import AuditLog
from application.shared.unit_of_work import UnitOfWork
from application.telegram.ports import TelegramChatRepository
from domain.broadcast.campaign import Campaign, CampaignId
from domain.broadcast.delivery import Delivery, DeliveryError, DeliveryStatus, Stats
from domain.shared.pagination import Page, PageRequest

__all__ = ["BroadcastUnitOfWork", "BroadcastUnits", "CampaignRepository", "DeliveryRepository"]


class CampaignRepository(Protocol):
    @abstractmethod
    async def add(self, campaign: Campaign) -> None: ...

    @abstractmethod
    async def get(self, campaign_id: CampaignId) -> Campaign | None: ...

    @abstractmethod
    async def save(self, campaign: Campaign) -> None:
        """Compare-and-set: the stored version must be ``campaign.version - 1``, else
        ``VersionMismatchError`` (``actual`` the stored one, ``None`` when gone)."""

    @abstractmethod
    async def delete(self, campaign: Campaign) -> None:
        """Delete it (and its deliveries) if still at ``campaign.version``; else ``VersionMismatchError``."""

    @abstractmethod
    async def page(self, page: PageRequest) -> Page[Campaign]:
        """Newest first (``created_at``, then id, descending)."""

    @abstractmethod
    async def claim_sender(self, now: datetime, until: datetime, token: str) -> Campaign | None:
        """Take the sender lease of one running campaign whose lease is free or lapsed (the
        oldest started first), until ``until``, under ``token``; ``None`` when there is none.
        Of two processes asking at once, one gets it."""

    @abstractmethod
    async def renew_sender(self, campaign_id: CampaignId, token: str, until: datetime) -> bool:
        """Extend the lease held under ``token``; False when it was lost (lapsed and taken)."""

    @abstractmethod
    async def release_sender(self, campaign_id: CampaignId, token: str) -> None: ...

    @abstractmethod
    async def announce(self, campaign: Campaign) -> None:
        """Store nothing, but hand the events the campaign recorded without changing
        (``campaign.progress``) to the unit of work, which commits them to the outbox."""

    @abstractmethod
    async def has_live_sender(self, campaign_id: CampaignId, now: datetime) -> bool:
        """Whether a sender holds the campaign's lease (one that has not lapsed by ``now``)."""


class DeliveryRepository(Protocol):
    """One row per (campaign, chat): the unique key that makes a recipient receive at most
    one message per campaign. Every status change is a compare-and-set on the status."""

    @abstractmethod
    async def add_many(self, campaign_id: CampaignId, chat_ids: Sequence[int]) -> None:
        """Pending rows for ``chat_ids`` (already distinct)."""

    @abstractmethod
    async def stats(self, campaign_ids: Sequence[CampaignId]) -> dict[CampaignId, Stats]:
        """Counts per campaign (every asked id is in the answer)."""

    @abstractmethod
    async def page(self, campaign_id: CampaignId, page: PageRequest) -> Page[Delivery]:
        """In chat id order."""

    @abstractmethod
    async def count_by_outcome(self) -> dict[tuple[DeliveryStatus, DeliveryError | None], int]:
        """How many deliveries of every campaign are in each (status, error); only the
        pairs that occur."""

    @abstractmethod
    async def due(self, campaign_id: CampaignId, now: datetime, limit: int) -> builtins.list[Delivery]:
        """Pending deliveries whose next attempt is due, oldest attempt first."""

    @abstractmethod
    async def claim(self, campaign_id: CampaignId, chat_id: int, token: str, now: datetime) -> bool:
        """``pending`` -> ``sending``, one more attempt, only while ``token`` holds the
        campaign's sender lease unlapsed at ``now``: a sender that lost its lease (paused past
        it, and another took over) claims nothing more. False when nothing was claimed."""

    @abstractmethod
    async def mark_sent(self, campaign_id: CampaignId, chat_id: int, at: datetime) -> None:
        """``sending`` -> ``sent``."""

    @abstractmethod
    async def mark_failed(self, campaign_id: CampaignId, chat_id: int, error: DeliveryError) -> None:
        """``sending`` -> ``failed`` with ``error``."""

    @abstractmethod
    async def retry_at(self, campaign_id: CampaignId, chat_id: int, at: datetime) -> None:
        """``sending`` -> ``pending``, due again at ``at`` (it was provably not sent)."""

    @abstractmethod
    async def fail_in_flight(self, campaign_id: CampaignId) -> int:
        """Every ``sending`` row of the campaign -> ``failed``/``unknown_outcome``: a sender
        that died left them, and whether Telegram took them nobody can know. How many."""

    @abstractmethod
    async def stranded(self, now: datetime) -> builtins.list[CampaignId]:
        """Cancelled campaigns that no live sender holds, with deliveries still ``sending``
        (a sender died with them in flight) or ``pending`` (a send in flight at the cancel
        came back provably not sent, and went back to ``pending``): nobody will end them."""

    @abstractmethod
    async def cancel_pending(self, campaign_id: CampaignId) -> int:
        """Every ``pending`` row -> ``failed``/``cancelled``. How many."""

    @abstractmethod
    async def next_due_at(self, campaign_id: CampaignId) -> datetime | None:
        """When the earliest pending delivery is due (``None``: none is pending)."""

    @abstractmethod
    async def unfinished(self, campaign_id: CampaignId) -> int:
        """Rows still ``pending`` or ``sending``."""


class BroadcastUnitOfWork(UnitOfWork, Protocol):
    @property
    @abstractmethod
    def campaigns(self) -> CampaignRepository: ...

    @property
    @abstractmethod
    def deliveries(self) -> DeliveryRepository: ...

    @property
    @abstractmethod
    def chats(self) -> TelegramChatRepository: ...

    @property
    @abstractmethod
    def audit_log(self) -> AuditLog: ...


class BroadcastUnits(Protocol):
    """Fresh units of work for the sender, which runs outside any request: each call gives
    one on its own transaction (and connection, while a block is open)."""

    @abstractmethod
    def __call__(self) -> BroadcastUnitOfWork: ...
