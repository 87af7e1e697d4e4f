"""The ``SendPacer`` port: Telegram's send limits, shared by every process that sends."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Protocol

__all__ = ["TELEGRAM_LIMITS", "SendLimits", "SendPacer"]


@dataclass(frozen=True, slots=True)
class SendLimits:
    """At most ``per_second`` sends in any one second overall, and one send per chat every
    ``per_chat_interval`` seconds."""

    per_second: int
    per_chat_interval: float


TELEGRAM_LIMITS = SendLimits(per_second=25, per_chat_interval=1.1)
"""Telegram allows 30 a second and one a second per chat, counted when messages arrive.
Slots are booked on our side, and a request's way there varies by tens of milliseconds,
so the booking keeps a sixth in hand: 25 a second, 1.1 s apart per chat."""


class SendPacer(Protocol):
    """Hands out send slots. Each ``reserve`` books the earliest slot that keeps both limits,
    atomically across processes (the Redis adapter books in one script on Redis's clock), and
    says how long to wait for it. Slots are spaced ``1/per_second`` apart overall, so no
    window of one second, sliding or not, holds more than ``per_second`` sends."""

    @abstractmethod
    async def reserve(self, chat_id: int) -> float:
        """Book the next slot for a send to ``chat_id``; the seconds until it (0 when now).

        Raises ``DependencyUnavailableError`` when the shared store does not answer: a
        sender must then wait and ask again, never send unpaced."""
