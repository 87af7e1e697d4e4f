"""Deliveries: one per recipient of a campaign, sent at most once."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from domain.broadcast.ids import CampaignId

__all__ = ["Delivery", "DeliveryError", "DeliveryStatus", "Stats"]


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    """Claimed in a committed write before the request to Telegram: if the sender dies now,
    nobody can know whether Telegram took it, so it ends ``failed``/``unknown_outcome`` and
    is never sent again. Shown as ``pending`` in the API until it ends."""
    SENT = "sent"
    FAILED = "failed"


class DeliveryError(enum.StrEnum):
    BLOCKED = "blocked"
    CHAT_NOT_FOUND = "chat_not_found"
    REJECTED = "rejected"
    UNKNOWN_OUTCOME = "unknown_outcome"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    campaign_id: CampaignId
    chat_id: int
    status: DeliveryStatus
    attempts: int
    error: DeliveryError | None
    sent_at: datetime | None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Stats:
    """Counted from the delivery rows (``sending`` counts as pending: it has not ended)."""

    total: int = 0
    pending: int = 0
    sent: int = 0
    failed: int = 0

    @classmethod
    def count(cls, by_status: Mapping[str, int]) -> Stats:
        """From the number of rows in each status (a ``DeliveryStatus`` or its value)."""
        pending = by_status.get(DeliveryStatus.PENDING, 0) + by_status.get(DeliveryStatus.SENDING, 0)
        sent, failed = by_status.get(DeliveryStatus.SENT, 0), by_status.get(DeliveryStatus.FAILED, 0)
        return cls(total=pending + sent + failed, pending=pending, sent=sent, failed=failed)
