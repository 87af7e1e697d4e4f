"""Threads and messages of the bot's chats."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, NewType
from uuid import UUID

from domain.shared.events import Aggregate, DomainEvent
from domain.shared.text import TELEGRAM_TEXT_MAX, telegram_text

__all__ = [
    "Direction",
    "Message",
    "MessageId",
    "MessageStatus",
    "ReplyQueued",
    "Thread",
    "ThreadId",
    "UpdateReceived",
    "WebhookUpdate",
    "message_text",
]

ThreadId = NewType("ThreadId", UUID)
MessageId = NewType("MessageId", UUID)
TEXT_MAX = TELEGRAM_TEXT_MAX


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"


class MessageStatus(enum.StrEnum):
    RECEIVED = "received"
    PENDING = "pending"
    SENDING = "sending"
    """Claimed before the request to Telegram (shown as ``pending``); see deliveries."""
    SENT = "sent"
    FAILED = "failed"


def message_text(raw: str) -> str:
    """An admin's reply: see ``telegram_text``."""
    return telegram_text(raw)


@dataclass(frozen=True, slots=True, kw_only=True)
class Thread:
    id: ThreadId
    chat_id: int
    title: str
    last_message_at: datetime
    blocked: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyQueued(DomainEvent):
    """An admin's reply waits for the worker to send it."""

    name: ClassVar[str] = "chat.reply_queued"
    message_id: MessageId
    chat_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateReceived(DomainEvent):
    """The webhook stored an update; a job does what it asks."""

    name: ClassVar[str] = "bot.update_received"
    update_id: int


@dataclass(slots=True, kw_only=True, eq=False)
class Message(Aggregate):
    aggregate_type: ClassVar[str] = "chat_message"

    id: MessageId
    thread_id: ThreadId
    direction: Direction
    text: str
    status: MessageStatus
    error: str | None
    created_at: datetime
    sent_at: datetime | None
    events: list[DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def received(cls, *, message_id: MessageId, thread_id: ThreadId, text: str, at: datetime) -> Message:
        return cls(
            id=message_id,
            thread_id=thread_id,
            direction=Direction.IN,
            text=text,
            status=MessageStatus.RECEIVED,
            error=None,
            created_at=at,
            sent_at=None,
        )

    @classmethod
    def reply(cls, *, message_id: MessageId, thread: Thread, text: str, at: datetime) -> Message:
        """An admin's reply, ``pending`` until the worker sends it (at most once)."""
        message = cls(
            id=message_id,
            thread_id=thread.id,
            direction=Direction.OUT,
            text=message_text(text),
            status=MessageStatus.PENDING,
            error=None,
            created_at=at,
            sent_at=None,
        )
        message.events.append(ReplyQueued(occurred_at=at, message_id=message_id, chat_id=thread.chat_id))
        return message


@dataclass(slots=True, kw_only=True, eq=False)
class WebhookUpdate(Aggregate):
    """A Telegram ``Update`` as the webhook received it, stored once per ``update_id``."""

    aggregate_type: ClassVar[str] = "bot_update"

    id: UUID
    update_id: int
    payload: dict[str, Any]
    received_at: datetime
    events: list[DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def receive(cls, *, record_id: UUID, update_id: int, payload: dict[str, Any], at: datetime) -> WebhookUpdate:
        update = cls(id=record_id, update_id=update_id, payload=payload, received_at=at)
        update.events.append(UpdateReceived(occurred_at=at, update_id=update_id))
        return update
