"""In-memory repositories of the chat context, with the SQL adapter's semantics."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from adapters.memory.database import detached
from adapters.memory.job_backlog import InMemoryJobBacklog
from adapters.memory.telegram_chats import InMemoryTelegramChatRepository, TelegramChatTables
from adapters.memory.unit_of_work import InMemoryRepository, InMemoryUnitOfWork
from adapters.shared.unit_of_work import ContextUnitOfWork, repository
from application.chat.ports import ChatUnitOfWork, MessageRepository, ThreadRepository, UpdateRepository
from domain.chat.chat import Message, MessageId, MessageStatus, Thread, ThreadId, WebhookUpdate
from domain.shared.pagination import Page, PageRequest

__all__ = [
    "ChatTables",
    "InMemoryChatUnitOfWork",
    "InMemoryMessageRepository",
    "InMemoryThreadRepository",
    "InMemoryUpdateRepository",
]


@dataclass(slots=True)
class ChatTables:
    updates: dict[int, WebhookUpdate] = field(default_factory=dict)
    """By ``update_id``, the unique key."""
    threads: dict[ThreadId, Thread] = field(default_factory=dict)
    """Immutable rows (``blocked`` is not stored: reads take it from the chat's record)."""
    thread_of_chat: dict[int, ThreadId] = field(default_factory=dict)
    messages: dict[MessageId, Message] = field(default_factory=dict)

    def copy(self) -> ChatTables:
        return ChatTables(
            updates=dict(self.updates),
            threads=dict(self.threads),
            thread_of_chat=dict(self.thread_of_chat),
            messages=dict(self.messages),
        )


class InMemoryUpdateRepository(InMemoryRepository[ChatTables], UpdateRepository):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, ChatTables)

    async def add_if_new(self, update: WebhookUpdate) -> bool:
        if update.update_id in self._tables.updates:
            return False
        self._writable.updates[update.update_id] = replace(detached(update), payload=dict(update.payload))
        return True

    async def get(self, update_id: int) -> WebhookUpdate | None:
        stored = self._tables.updates.get(update_id)
        return None if stored is None else replace(detached(stored), payload=dict(stored.payload))


class InMemoryThreadRepository(InMemoryRepository[ChatTables], ThreadRepository):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, ChatTables)

    async def by_chat(self, chat_id: int) -> Thread | None:
        thread_id = self._tables.thread_of_chat.get(chat_id)
        return None if thread_id is None else await self.get(thread_id)

    async def get(self, thread_id: ThreadId) -> Thread | None:
        stored = self._tables.threads.get(thread_id)
        return None if stored is None else self._with_blocked(stored)

    async def touch(self, chat_id: int, title: str, at: datetime, new_id: ThreadId) -> ThreadId:
        tables = self._writable
        thread_id = tables.thread_of_chat.setdefault(chat_id, new_id)  # the stored id stays
        stored = tables.threads.get(thread_id)
        last = at if stored is None else max(at, stored.last_message_at)
        tables.threads[thread_id] = Thread(
            id=thread_id, chat_id=chat_id, title=title, last_message_at=last, blocked=False
        )
        return thread_id

    async def page(self, page: PageRequest) -> Page[Thread]:
        ordered = sorted(self._tables.threads.values(), key=lambda t: (t.last_message_at, t.id), reverse=True)
        items = [self._with_blocked(t) for t in ordered[page.offset : page.offset + page.size]]
        return Page(items=items, request=page, total=len(ordered))

    def _with_blocked(self, thread: Thread) -> Thread:
        chat = self._unit.tables(TelegramChatTables).chats.get(thread.chat_id)
        return replace(thread, blocked=chat is not None and chat.blocked)


class InMemoryMessageRepository(InMemoryRepository[ChatTables], MessageRepository):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, ChatTables)

    async def add(self, message: Message) -> None:
        self._writable.messages[message.id] = detached(message)

    async def get(self, message_id: MessageId) -> Message | None:
        stored = self._tables.messages.get(message_id)
        return None if stored is None else detached(stored)

    async def page(self, thread_id: ThreadId, page: PageRequest) -> Page[Message]:
        mine = [m for m in self._tables.messages.values() if m.thread_id == thread_id]
        mine.sort(key=lambda m: (m.created_at, m.id), reverse=True)
        items = [detached(m) for m in mine[page.offset : page.offset + page.size]]
        return Page(items=items, request=page, total=len(mine))

    async def claim(self, message_id: MessageId) -> bool:
        return self._move(message_id, MessageStatus.PENDING, status=MessageStatus.SENDING)

    async def finish(self, message_id: MessageId, *, sent_at: datetime | None, error: str | None) -> None:
        if sent_at is not None:
            self._move(message_id, MessageStatus.SENDING, status=MessageStatus.SENT, sent_at=sent_at)
        else:
            self._move(message_id, MessageStatus.SENDING, status=MessageStatus.FAILED, error=error)

    async def release(self, message_id: MessageId) -> None:
        self._move(message_id, MessageStatus.SENDING, status=MessageStatus.PENDING)

    def _move(self, message_id: MessageId, source: MessageStatus, **changes: object) -> bool:
        """Compare-and-set on the status."""
        stored = self._tables.messages.get(message_id)
        if stored is None or stored.status is not source:
            return False
        self._writable.messages[message_id] = replace(detached(stored), **changes)  # type: ignore[arg-type]
        return True


class InMemoryChatUnitOfWork(ContextUnitOfWork[InMemoryUnitOfWork], ChatUnitOfWork):
    updates = repository(InMemoryUpdateRepository)
    threads = repository(InMemoryThreadRepository)
    messages = repository(InMemoryMessageRepository)
    chats = repository(InMemoryTelegramChatRepository)
    backlog = repository(InMemoryJobBacklog)
