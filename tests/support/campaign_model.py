"""The model and the in-process doubles of ``tests/integration/test_campaign_machine.py``:
Telegram scripted per (campaign text, chat), a clock that ticks a millisecond per reading,
and what the model keeps per campaign and recipient."""

from __future__ import annotations

import asyncio
import enum
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from application.telegram.client import BotInfo, Rejection, SendOutcome, SendResult, TelegramClient
from domain.broadcast.campaign import CampaignStatus
from domain.broadcast.delivery import DeliveryError, DeliveryStatus, Stats

__all__ = [
    "CRASHED",
    "MAY_HAVE_ARRIVED",
    "RETRY_AFTER",
    "STORED",
    "Call",
    "Model",
    "Recipient",
    "Row",
    "Script",
    "ScriptedTelegram",
    "TickingClock",
]

RETRY_AFTER = 0.001
"""Seconds a NOT_SENT answer asks to wait (``0`` would mean "no hint": a 2 s backoff)."""


class Script(enum.StrEnum):
    """What the fake answers for one (campaign text, chat)."""

    ACCEPTED = "accepted"
    NOT_SENT = "not_sent"
    """A 429 on the first call only; accepted afterwards."""
    BLOCKED = "blocked"
    UNKNOWN = "unknown"


_RESULTS = {
    Script.ACCEPTED: SendResult(SendOutcome.ACCEPTED, message_id=1),
    Script.NOT_SENT: SendResult(SendOutcome.NOT_SENT, retry_after=RETRY_AFTER),
    Script.BLOCKED: SendResult(SendOutcome.REJECTED, rejection=Rejection.BLOCKED),
    Script.UNKNOWN: SendResult(SendOutcome.UNKNOWN),
}
CRASHED = "crashed"
"""The outcome recorded for a call a crashed sender made: Telegram may have taken it."""
MAY_HAVE_ARRIVED = {Script.ACCEPTED.value, Script.UNKNOWN.value, CRASHED}


@dataclass(frozen=True, slots=True)
class Call:
    chat_id: int
    text: str
    outcome: str


class ScriptedTelegram(TelegramClient):
    """The ``TelegramClient`` port in process: answers per (text, chat) from its script,
    records every call."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._scripts: dict[tuple[str, int], Script] = {}

    @property
    def configured(self) -> bool:
        return True

    def script(self, text: str, chat_id: int, script: Script) -> None:
        self._scripts[text, chat_id] = script

    def record(self, chat_id: int, text: str, outcome: str) -> None:
        self.calls.append(Call(chat_id, text, outcome))

    async def send_message(self, chat_id: int, text: str) -> SendResult:
        await asyncio.sleep(0)  # in flight: let the other sends of the batch run
        earlier = [c.outcome for c in self.calls if c.chat_id == chat_id and c.text == text]
        # Fail fast (a sender resending in a loop would otherwise only time out).
        assert not MAY_HAVE_ARRIVED.intersection(earlier), f"{text!r} sent again to {chat_id}"
        script = self._scripts.get((text, chat_id), Script.ACCEPTED)
        if script is Script.NOT_SENT and earlier:
            script = Script.ACCEPTED  # a 429 once, then accepted
        self.record(chat_id, text, script.value)
        return _RESULTS[script]

    async def get_me(self) -> BotInfo:
        return BotInfo(1, "portside_test_bot")

    async def set_webhook(self, url: str, secret_token: str) -> None:
        return None


class TickingClock:
    """Every reading is a millisecond after the last (so a tiny ``retry_after`` is soon due,
    without waiting); ``advance`` jumps, to let a dead sender's lease lapse."""

    def __init__(self) -> None:
        self._now = datetime(2025, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        self._now += timedelta(milliseconds=1)
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class Row(enum.StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    """Claimed by a sender that died: ``sending`` in the store."""
    SENT = "sent"
    FAILED = "failed"


@dataclass
class Recipient:
    script: Script
    state: Row = Row.PENDING
    error: DeliveryError | None = None
    attempts: int = 0
    calls: int = 0
    """Requests Telegram should have seen for this (campaign, chat)."""
    crashed: bool = False


@dataclass
class Model:
    text: str
    recipients: dict[int, Recipient]
    status: CampaignStatus = CampaignStatus.DRAFT
    deleted: bool = False
    started: int | None = None
    """Start order: the sender takes the oldest started campaign first."""
    leased: bool = False
    """A crashed sender holds the lease (until ``resume`` lets it lapse)."""
    calls_at_cancel: dict[int, int] = field(default_factory=dict)

    def stats(self) -> Stats:
        states = Counter(r.state for r in self.recipients.values())
        return Stats(
            total=len(self.recipients),
            pending=states[Row.PENDING] + states[Row.IN_FLIGHT],
            sent=states[Row.SENT],
            failed=states[Row.FAILED],
        )


STORED = {
    Row.PENDING: DeliveryStatus.PENDING,
    Row.IN_FLIGHT: DeliveryStatus.SENDING,
    Row.SENT: DeliveryStatus.SENT,
    Row.FAILED: DeliveryStatus.FAILED,
}
