"""Ports of the chat context."""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime
from typing import Protocol

from application.shared.unit_of_work import UnitOfWork
from application.telegram.ports import TelegramChatRepository
from domain.chat.chat import Message, MessageId, Thread, ThreadId, WebhookUpdate
from domain.shared.pagination import Page, PageRequest

__all__ = ["ChatUnitOfWork", "JobBacklog", "MessageRepository", "ThreadRepository", "UpdateRepository"]


class UpdateRepository(Protocol):
    @abstractmethod
    async def add_if_new(self, update: WebhookUpdate) -> bool:
        """Store an update once per ``update_id`` (a unique key): True when it is new. A
        repeat returns False, and so announces nothing."""

    @abstractmethod
    async def get(self, update_id: int) -> WebhookUpdate | None: ...


class ThreadRepository(Protocol):
    @abstractmethod
    async def by_chat(self, chat_id: int) -> Thread | None: ...

    @abstractmethod
    async def get(self, thread_id: ThreadId) -> Thread | None: ...

    @abstractmethod
    async def touch(self, chat_id: int, title: str, at: datetime, new_id: ThreadId) -> ThreadId:
        """The chat's thread, after a message at ``at``: made under ``new_id`` with the
        chat's first message, otherwise the stored one, retitled, its ``last_message_at``
        moved forward (never back). Returns the thread's id: of two first messages handled
        at once, both get the one stored (``chat_id`` is unique). ``blocked`` is not stored
        here: reads take it from the chat's record (``TelegramChatRepository``)."""

    @abstractmethod
    async def page(self, page: PageRequest) -> Page[Thread]:
        """Most recent message first (``last_message_at``, then id, descending)."""


class MessageRepository(Protocol):
    @abstractmethod
    async def add(self, message: Message) -> None: ...

    @abstractmethod
    async def get(self, message_id: MessageId) -> Message | None: ...

    @abstractmethod
    async def page(self, thread_id: ThreadId, page: PageRequest) -> Page[Message]:
        """Newest first (``created_at``, then id, descending)."""

    @abstractmethod
    async def claim(self, message_id: MessageId) -> bool:
        """``pending`` -> ``sending``; False when it was not pending."""

    @abstractmethod
    async def finish(self, message_id: MessageId, *, sent_at: datetime | None, error: str | None) -> None:
        """``sending`` -> ``sent`` (``sent_at``) or ``failed`` (``error``)."""

    @abstractmethod
    async def release(self, message_id: MessageId) -> None:
        """``sending`` -> ``pending``: it was provably not sent, and will be tried again."""


class ChatUnitOfWork(UnitOfWork, Protocol):
    @property
    @abstractmethod
    def updates(self) -> UpdateRepository: ...

    @property
    @abstractmethod
    def threads(self) -> ThreadRepository: ...

    @property
    @abstractmethod
    def messages(self) -> MessageRepository: ...

    @property
    @abstractmethod
    def chats(self) -> TelegramChatRepository: ...

    @property
    @abstractmethod
    def backlog(self) -> JobBacklog: ...


class JobBacklog(Protocol):
    """How much background work waits (for the bot's status page)."""

    @abstractmethod
    async def queued(self) -> int:
        """Jobs queued or running."""
