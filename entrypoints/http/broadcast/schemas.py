"""Bodies of ``/api/v1/campaigns``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, TypeAlias
from uuid import UUID

import msgspec
from msgspec import Meta

from application.broadcast.access import CampaignView
from domain.broadcast.delivery import Delivery, DeliveryStatus, Stats
from domain.shared.pagination import Page
from entrypoints.http.pages import page_fields

__all__ = [
    "AudienceValue",
    "CampaignBody",
    "CampaignCreate",
    "CampaignPage",
    "CampaignStatusValue",
    "DeliveryErrorValue",
    "DeliveryPage",
    "DeliveryStatusValue",
    "DeliveryView",
    "StatsView",
]

ChatId = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1, description="A Telegram chat id (64-bit)")]

# The values a response can carry, spelled out so the OpenAPI document lists them (``enum``).
# mypy refuses a domain value (``.value``) missing here; tests/http/test_telegram_openapi.py
# checks that the document lists exactly the values the API emits.
CampaignStatusValue: TypeAlias = Literal["draft", "running", "completed", "cancelled"]
AudienceValue: TypeAlias = Literal["explicit", "subscribers"]
DeliveryStatusValue: TypeAlias = Literal["pending", "sent", "failed"]
DeliveryErrorValue: TypeAlias = Literal["blocked", "chat_not_found", "rejected", "unknown_outcome", "cancelled"]

_SHOWN: dict[DeliveryStatus, DeliveryStatusValue] = {
    DeliveryStatus.PENDING: "pending",
    DeliveryStatus.SENDING: "pending",  # claimed, not ended: a reader sees it still pending
    DeliveryStatus.SENT: "sent",
    DeliveryStatus.FAILED: "failed",
}


class CampaignCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Exactly one of ``recipients`` and ``audience``."""

    name: Annotated[str, Meta(min_length=1, description="1..200 characters after trimming", examples=["Launch"])]
    text: Annotated[str, Meta(min_length=1, description="1..4096 characters, not blank", examples=["Hello!"])]
    recipients: (
        Annotated[
            list[ChatId],
            Meta(
                max_length=200_000,
                description="1..100,000 distinct chat ids after duplicates are removed; "
                "up to 200,000 entries accepted in the body",
            ),
        ]
        | None
    ) = None
    audience: Literal["subscribers"] | None = None


class StatsView(msgspec.Struct, kw_only=True):
    total: int
    pending: int
    sent: int
    failed: int

    @classmethod
    def of(cls, stats: Stats) -> StatsView:
        return cls(total=stats.total, pending=stats.pending, sent=stats.sent, failed=stats.failed)


class CampaignBody(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    text: str
    audience: Annotated[
        AudienceValue,
        Meta(description="`explicit`: the chat ids given at create; `subscribers`: the chats subscribed at start"),
    ]
    status: CampaignStatusValue
    stats: StatsView
    created_by: UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, view: CampaignView) -> CampaignBody:
        c = view.campaign
        return cls(
            id=c.id,
            name=c.name,
            text=c.text,
            audience=c.audience.value,
            status=c.status.value,
            stats=StatsView.of(view.stats),
            created_by=c.created_by,
            created_at=c.created_at,
            started_at=c.started_at,
            finished_at=c.finished_at,
        )


class CampaignPage(msgspec.Struct, kw_only=True):
    items: list[CampaignBody]
    page: int
    size: int
    total: int
    pages: int

    @classmethod
    def of(cls, page: Page[CampaignView]) -> CampaignPage:
        return cls(**page_fields(page, CampaignBody.of))


class DeliveryView(msgspec.Struct, kw_only=True):
    chat_id: int
    status: Annotated[DeliveryStatusValue, Meta(description="A delivery being sent is still `pending`")]
    attempts: int
    error: Annotated[DeliveryErrorValue, Meta(description="Null unless the delivery failed")] | None
    sent_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryView:
        return cls(
            chat_id=delivery.chat_id,
            status=_SHOWN[delivery.status],
            attempts=delivery.attempts,
            error=None if delivery.error is None else delivery.error.value,
            sent_at=delivery.sent_at,
        )


class DeliveryPage(msgspec.Struct, kw_only=True):
    items: list[DeliveryView]
    page: int
    size: int
    total: int
    pages: int

    @classmethod
    def of(cls, page: Page[Delivery]) -> DeliveryPage:
        return cls(**page_fields(page, DeliveryView.of))
