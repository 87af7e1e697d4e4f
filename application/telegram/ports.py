"""The chats the bot knows: who is subscribed to broadcasts, and who blocked the bot."""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime
from typing import Protocol

__all__ = ["TelegramChatRepository"]


class TelegramChatRepository(Protocol):
    """One row per chat. ``/start`` subscribes, ``/stop`` unsubscribes, a 403 from Telegram
    (the bot blocked) unsubscribes and marks the chat blocked; a later ``/start`` unblocks."""

    @abstractmethod
    async def subscribe(self, chat_id: int, at: datetime, message_id: int) -> None:
        """Subscribed and not blocked, as the command in message ``message_id`` (``/start``)
        asks; idempotent. Commands apply in ``message_id`` order (it increases within a
        chat; ``update_id`` restarts at random after a quiet week): one older than the last
        applied to the chat (handled late, by another worker) changes nothing."""

    @abstractmethod
    async def unsubscribe(self, chat_id: int, at: datetime, message_id: int) -> None:
        """Not subscribed (``/stop``); in ``message_id`` order as ``subscribe``."""

    @abstractmethod
    async def mark_blocked(self, chat_id: int, at: datetime) -> None:
        """Telegram said the bot is blocked there: unsubscribed and blocked (idempotent)."""

    @abstractmethod
    async def subscribed(self) -> list[int]:
        """Every subscribed chat id, ascending."""

    @abstractmethod
    async def count_subscribed(self) -> int: ...

    @abstractmethod
    async def blocked(self, chat_ids: list[int]) -> set[int]:
        """Which of ``chat_ids`` have blocked the bot."""
