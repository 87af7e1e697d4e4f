"""The ``TelegramClient`` port: the Bot API calls portside makes, each outcome classified.

``sendMessage`` has no idempotency key, so what a caller may do after a failed send depends
on whether the message could have been accepted. The adapter sorts every outcome into one
of four classes (``SendOutcome``) and the senders act on the class alone:

- ``ACCEPTED``: Telegram took it.
- ``NOT_SENT``: provably not accepted: the request could not be built (an unusable API
  base, a text that cannot be encoded) or never left whole (no connection), or 429 with
  ``retry_after``. Safe to try again (after ``retry_after``).
- ``REJECTED``: a permanent refusal: 403 (the bot was blocked), 400 chat not found, another
  4xx. Never retried.
- ``UNKNOWN``: it may or may not have been accepted: a timeout after sending, a 5xx, a
  connection dropped after the request was written. Never retried: at most once.
"""

from __future__ import annotations

import enum
from abc import abstractmethod
from dataclasses import dataclass
from typing import Protocol

__all__ = ["BotInfo", "Rejection", "SendOutcome", "SendResult", "TelegramClient", "TelegramUnavailableError"]


class SendOutcome(enum.Enum):
    ACCEPTED = "accepted"
    NOT_SENT = "not_sent"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


class Rejection(enum.StrEnum):
    BLOCKED = "blocked"
    """403: the user blocked the bot (or left the chat)."""
    CHAT_NOT_FOUND = "chat_not_found"
    REJECTED = "rejected"
    """Any other 4xx."""


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: SendOutcome
    retry_after: float | None = None
    """``NOT_SENT`` after a 429: seconds Telegram asked to wait."""
    rejection: Rejection | None = None
    """``REJECTED``: why."""
    message_id: int | None = None
    """``ACCEPTED``: Telegram's id of the message."""


@dataclass(frozen=True, slots=True)
class BotInfo:
    id: int
    username: str | None


class TelegramUnavailableError(Exception):
    """A call other than ``send_message`` failed (network, 5xx, a refusal)."""


class TelegramClient(Protocol):
    @property
    @abstractmethod
    def configured(self) -> bool:
        """Whether a bot token is set (without one, messages are logged, not sent)."""

    @abstractmethod
    async def send_message(self, chat_id: int, text: str) -> SendResult:
        """Send ``text`` to ``chat_id``; never raises for what Telegram or the network did."""

    @abstractmethod
    async def get_me(self) -> BotInfo:
        """Raises ``TelegramUnavailableError``."""

    @abstractmethod
    async def set_webhook(self, url: str, secret_token: str) -> None:
        """Register ``url`` for updates, with the secret Telegram will send in
        ``X-Telegram-Bot-Api-Secret-Token``. Raises ``TelegramUnavailableError``."""
