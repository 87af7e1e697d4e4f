"""``LogTelegramClient``: with no bot token, messages are logged (never their text), not sent."""

from __future__ import annotations

import structlog

from application.telegram.client import BotInfo, SendOutcome, SendResult, TelegramClient, TelegramUnavailableError

__all__ = ["LogTelegramClient"]

_log = structlog.get_logger("portside.telegram")

_NO_TOKEN = "no bot token configured"


class LogTelegramClient(TelegramClient):
    @property
    def configured(self) -> bool:
        return False

    async def send_message(self, chat_id: int, text: str) -> SendResult:
        _log.info("telegram_message_logged", method="sendMessage", chat_id=chat_id, characters=len(text))
        return SendResult(SendOutcome.ACCEPTED)

    async def get_me(self) -> BotInfo:
        raise TelegramUnavailableError(_NO_TOKEN)

    async def set_webhook(self, url: str, secret_token: str) -> None:
        raise TelegramUnavailableError(_NO_TOKEN)

    async def aclose(self) -> None:
        """Nothing to close (the same lifecycle as ``HttpTelegramClient``)."""
