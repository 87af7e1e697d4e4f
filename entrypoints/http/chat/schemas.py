"""Bodies of ``/api/v1/bot`` and ``/api/v1/chat``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, TypeAlias, cast
from uuid import UUID

import msgspec
from msgspec import Meta

from application.chat.bot_status import BotStatusView
from domain.chat.chat import Message, MessageStatus, Thread
from domain.shared.pagination import Page
from entrypoints.http.pages import page_fields

__all__ = [
    "BotStatusBody",
    "DirectionValue",
    "MessageBody",
    "MessageErrorValue",
    "MessagePage",
    "MessageStatusValue",
    "ReplyBody",
    "ThreadBody",
    "ThreadPage",
]

# The values a response can carry, spelled out so the OpenAPI document lists them (``enum``);
# tests/http/test_telegram_openapi.py checks that it lists exactly the values the API emits.
DirectionValue: TypeAlias = Literal["in", "out"]
MessageStatusValue: TypeAlias = Literal["received", "pending", "sent", "failed"]
MessageErrorValue: TypeAlias = Literal["blocked", "chat_not_found", "rejected", "unknown_outcome"]
"""``SendReply`` stores a rejection's value (``Rejection``) or ``unknown_outcome``."""

_SHOWN: dict[MessageStatus, MessageStatusValue] = {
    MessageStatus.RECEIVED: "received",
    MessageStatus.PENDING: "pending",
    MessageStatus.SENDING: "pending",  # claimed, not ended: a reader sees it still pending
    MessageStatus.SENT: "sent",
    MessageStatus.FAILED: "failed",
}


class ReplyBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    text: Annotated[str, Meta(min_length=1, description="1..4096 characters, not blank", examples=["Thanks!"])]


class BotStatusBody(msgspec.Struct, kw_only=True):
    configured: bool
    webhook_secret_set: bool
    subscribers: int
    queued_jobs: int

    @classmethod
    def of(cls, view: BotStatusView) -> BotStatusBody:
        return cls(
            configured=view.configured,
            webhook_secret_set=view.webhook_secret_set,
            subscribers=view.subscribers,
            queued_jobs=view.queued_jobs,
        )


class ThreadBody(msgspec.Struct, kw_only=True):
    id: UUID
    chat_id: int
    title: str
    last_message_at: datetime
    blocked: bool

    @classmethod
    def of(cls, thread: Thread) -> ThreadBody:
        return cls(
            id=thread.id,
            chat_id=thread.chat_id,
            title=thread.title,
            last_message_at=thread.last_message_at,
            blocked=thread.blocked,
        )


class ThreadPage(msgspec.Struct, kw_only=True):
    items: list[ThreadBody]
    page: int
    size: int
    total: int
    pages: int

    @classmethod
    def of(cls, page: Page[Thread]) -> ThreadPage:
        return cls(**page_fields(page, ThreadBody.of))


class MessageBody(msgspec.Struct, kw_only=True):
    id: UUID
    thread_id: UUID
    direction: Annotated[DirectionValue, Meta(description="`in`: from the chat; `out`: an admin's reply")]
    text: str
    status: Annotated[MessageStatusValue, Meta(description="`received` for `in`; a reply being sent is `pending`")]
    error: Annotated[MessageErrorValue, Meta(description="Null unless the reply failed")] | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, message: Message) -> MessageBody:
        return cls(
            id=message.id,
            thread_id=message.thread_id,
            direction=message.direction.value,
            text=message.text,
            status=_SHOWN[message.status],
            error=cast("MessageErrorValue | None", message.error),  # the domain keeps it a plain str
            created_at=message.created_at,
            sent_at=message.sent_at,
        )


class MessagePage(msgspec.Struct, kw_only=True):
    items: list[MessageBody]
    page: int
    size: int
    total: int
    pages: int

    @classmethod
    def of(cls, page: Page[Message]) -> MessagePage:
        return cls(**page_fields(page, MessageBody.of))
