"""The ``Campaign`` aggregate: one text, its audience, and the state machine of its sending."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from domain.broadcast.delivery import Stats
from domain.broadcast.ids import CampaignId
from domain.shared.errors import IllegalTransitionError, InvalidValueError
from domain.shared.events import Aggregate, DomainEvent
from domain.shared.ids import UserId
from domain.shared.text import TELEGRAM_TEXT_MAX, refuse_control_characters, telegram_text

__all__ = [
    "MAX_RECIPIENTS",
    "TEXT_MAX",
    "Audience",
    "Campaign",
    "CampaignCancelled",
    "CampaignCompleted",
    "CampaignId",
    "CampaignProgress",
    "CampaignStarted",
    "CampaignStatus",
    "campaign_name",
    "campaign_text",
    "chat_ids",
]

NAME_MAX = 200
TEXT_MAX = TELEGRAM_TEXT_MAX
MAX_RECIPIENTS = 100_000
_CHAT_ID_MIN, _CHAT_ID_MAX = -(2**63), 2**63 - 1


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Audience(enum.StrEnum):
    EXPLICIT = "explicit"
    """The chat ids given at create: their deliveries exist from the start."""
    SUBSCRIBERS = "subscribers"
    """The chats subscribed when the campaign starts (a snapshot)."""


def campaign_name(raw: str) -> str:
    """1..200 characters after trimming, no control characters; stored trimmed."""
    name = raw.strip()
    refuse_control_characters("name", name)
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidValueError("name", f"must be 1..{NAME_MAX} characters after trimming")
    return name


def campaign_text(raw: str) -> str:
    """The message: see ``telegram_text``."""
    return telegram_text(raw)


def chat_ids(raw: list[int]) -> list[int]:
    """1..100,000 Telegram chat ids (64-bit integers), duplicates removed, first order kept."""
    unique = list(dict.fromkeys(raw))
    if not unique:
        raise InvalidValueError("recipients", "must name at least one chat")
    if len(unique) > MAX_RECIPIENTS:
        raise InvalidValueError("recipients", f"at most {MAX_RECIPIENTS} chats")
    if any(not _CHAT_ID_MIN <= chat <= _CHAT_ID_MAX for chat in unique):
        raise InvalidValueError("recipients", "chat ids are 64-bit integers")
    return unique


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignStarted(DomainEvent):
    name: ClassVar[str] = "campaign.started"
    campaign_id: CampaignId


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignCancelled(DomainEvent):
    name: ClassVar[str] = "campaign.cancelled"
    campaign_id: CampaignId


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignCompleted(DomainEvent):
    name: ClassVar[str] = "campaign.completed"
    campaign_id: CampaignId


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignProgress(DomainEvent):
    """Where the sending stands: after each batch the sender records, and with every change
    of status (realtime shows it to admins)."""

    name: ClassVar[str] = "campaign.progress"
    campaign_id: CampaignId
    status: CampaignStatus
    stats: Stats


@dataclass(slots=True, kw_only=True, eq=False)
class Campaign(Aggregate):
    """``draft`` -> ``running`` -> ``completed`` | ``cancelled``; a draft may be cancelled too.

    Starting a running campaign is a no-op (``start`` returns False); every other move not
    drawn above is ``IllegalTransitionError`` (409). Only a campaign that is not running may
    be deleted.
    """

    aggregate_type: ClassVar[str] = "campaign"

    id: CampaignId
    name: str
    text: str
    audience: Audience
    status: CampaignStatus
    created_by: UserId
    version: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    events: list[DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def create(
        cls, *, campaign_id: CampaignId, name: str, text: str, audience: Audience, created_by: UserId, now: datetime
    ) -> Campaign:
        return cls(
            id=campaign_id,
            name=campaign_name(name),
            text=campaign_text(text),
            audience=audience,
            status=CampaignStatus.DRAFT,
            created_by=created_by,
            version=1,
            created_at=now,
            updated_at=now,
        )

    def start(self, now: datetime) -> bool:
        """Draft to running (True); a running campaign stays as it is (False)."""
        if self.status is CampaignStatus.RUNNING:
            return False
        self._require(CampaignStatus.DRAFT, action="start")
        self._move(CampaignStatus.RUNNING, now)
        self.started_at = now
        self.events.append(CampaignStarted(occurred_at=now, campaign_id=self.id))
        return True

    def cancel(self, now: datetime) -> None:
        self._require(CampaignStatus.DRAFT, CampaignStatus.RUNNING, action="cancel")
        self._move(CampaignStatus.CANCELLED, now)
        self.finished_at = now
        self.events.append(CampaignCancelled(occurred_at=now, campaign_id=self.id))

    def complete(self, now: datetime) -> None:
        """Every delivery of a running campaign has ended."""
        self._require(CampaignStatus.RUNNING, action="complete")
        self._move(CampaignStatus.COMPLETED, now)
        self.finished_at = now
        self.events.append(CampaignCompleted(occurred_at=now, campaign_id=self.id))

    def report_progress(self, stats: Stats, now: datetime) -> None:
        """Record ``campaign.progress`` with the current status and ``stats``; changes nothing."""
        self.events.append(CampaignProgress(occurred_at=now, campaign_id=self.id, status=self.status, stats=stats))

    def check_deletable(self) -> None:
        if self.status is CampaignStatus.RUNNING:
            raise IllegalTransitionError("a running campaign cannot be deleted; cancel it first")

    def _require(self, *allowed: CampaignStatus, action: str) -> None:
        if self.status not in allowed:
            raise IllegalTransitionError(f"a {self.status} campaign cannot {action}")

    def _move(self, status: CampaignStatus, now: datetime) -> None:
        self.status = status
        self.version += 1
        self.updated_at = now
