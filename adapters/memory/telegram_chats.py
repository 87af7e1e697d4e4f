"""``InMemoryTelegramChatRepository``: the chats the bot knows, as the SQL table keeps them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from adapters.memory.unit_of_work import InMemoryRepository, InMemoryUnitOfWork
from application.telegram.ports import TelegramChatRepository

__all__ = ["InMemoryTelegramChatRepository", "TelegramChat", "TelegramChatTables"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TelegramChat:
    """A row of ``telegram_chats``."""

    chat_id: int
    subscribed: bool
    blocked: bool
    updated_at: datetime
    command_message_id: int | None = None


@dataclass(slots=True)
class TelegramChatTables:
    chats: dict[int, TelegramChat] = field(default_factory=dict)
    """Immutable rows, so copies share them."""

    def copy(self) -> TelegramChatTables:
        return TelegramChatTables(chats=dict(self.chats))


class InMemoryTelegramChatRepository(InMemoryRepository[TelegramChatTables], TelegramChatRepository):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, TelegramChatTables)

    async def subscribe(self, chat_id: int, at: datetime, message_id: int) -> None:
        self._put(chat_id, at, subscribed=True, blocked=False, message_id=message_id)

    async def unsubscribe(self, chat_id: int, at: datetime, message_id: int) -> None:
        self._put(chat_id, at, subscribed=False, blocked=None, message_id=message_id)

    async def mark_blocked(self, chat_id: int, at: datetime) -> None:
        self._put(chat_id, at, subscribed=False, blocked=True)

    async def subscribed(self) -> list[int]:
        return sorted(chat.chat_id for chat in self._tables.chats.values() if chat.subscribed)

    async def count_subscribed(self) -> int:
        return sum(1 for chat in self._tables.chats.values() if chat.subscribed)

    async def blocked(self, chat_ids: list[int]) -> set[int]:
        chats = self._tables.chats
        return {chat_id for chat_id in chat_ids if (chat := chats.get(chat_id)) is not None and chat.blocked}

    def _put(
        self, chat_id: int, at: datetime, *, subscribed: bool, blocked: bool | None, message_id: int | None = None
    ) -> None:
        """As the SQL upsert: ``blocked=None`` keeps a stored row's flag (a new row is not
        blocked); a command (its ``message_id``) no newer than the last applied changes nothing."""
        chats = self._writable.chats
        stored = chats.get(chat_id)
        if stored is None:
            chats[chat_id] = TelegramChat(
                chat_id=chat_id,
                subscribed=subscribed,
                blocked=bool(blocked),
                updated_at=at,
                command_message_id=message_id,
            )
            return
        if message_id is not None and stored.command_message_id is not None and message_id <= stored.command_message_id:
            return
        keep = stored.blocked if blocked is None else blocked
        last_command = stored.command_message_id if message_id is None else message_id
        chats[chat_id] = replace(
            stored, subscribed=subscribed, blocked=keep, updated_at=at, command_message_id=last_command
        )
