"""``InMemorySendPacer``: Telegram send slots for one process (the embedded profile)."""

from __future__ import annotations

import time
from collections.abc import Callable

from application.telegram.pacing import TELEGRAM_LIMITS, SendLimits, SendPacer

__all__ = ["InMemorySendPacer"]

_PRUNE_EVERY = 1024


class InMemorySendPacer(SendPacer):
    """The same booking as ``RedisSendPacer``, on the process's monotonic clock. Chats whose
    next slot has passed are pruned every ``_PRUNE_EVERY`` reservations, so the table holds
    only chats booked within about the last ``per_chat_interval`` (plus any backlog)."""

    def __init__(
        self, clock_monotonic: Callable[[], float] = time.monotonic, limits: SendLimits = TELEGRAM_LIMITS
    ) -> None:
        self._now = clock_monotonic
        # A microsecond over, as in Redis: ``per_second`` slots always span more than a second.
        self._spacing = 1.0 / limits.per_second + 1e-6
        self._chat_interval = limits.per_chat_interval
        self._next_global = float("-inf")
        self._next_chat: dict[int, float] = {}
        self._reservations = 0

    async def reserve(self, chat_id: int) -> float:
        now = self._now()
        self._reservations += 1
        if self._reservations % _PRUNE_EVERY == 0:
            self._next_chat = {chat: at for chat, at in self._next_chat.items() if at > now}
        slot = max(now, self._next_global, self._next_chat.get(chat_id, now))
        self._next_global = slot + self._spacing
        self._next_chat[chat_id] = slot + self._chat_interval
        return slot - now
