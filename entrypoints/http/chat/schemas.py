"""Bodies of ``/api/v1/bot`` and ``/api/v1/chat``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from application.chat.bot_status import BotStatusView
from domain.chat.chat import Message, MessageStatus, Thread
from domain.shared.pagination import Page
from entrypoints.http.pages import page_fields

__all__ = ["BotStatusBody", "MessageBody", "MessagePage", "ReplyBody", "ThreadBody", "ThreadPage"]


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
    direction: str
    text: str
    status: str
    """``received``, ``pending``, ``sent`` or ``failed`` (a reply being sent is ``pending``)."""
    error: str | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, message: Message) -> MessageBody:
        status = MessageStatus.PENDING if message.status is MessageStatus.SENDING else message.status
        return cls(
            id=message.id,
            thread_id=message.thread_id,
            direction=message.direction.value,
            text=message.text,
            status=status.value,
            error=message.error,
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
