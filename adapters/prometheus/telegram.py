"""``MeteredTelegramClient``: any ``TelegramClient``, its sends counted by outcome."""

from __future__ import annotations

from adapters.prometheus.metrics import TELEGRAM_SENDS
from application.telegram.client import BotInfo, SendResult, TelegramClient

__all__ = ["MeteredTelegramClient"]


class MeteredTelegramClient(TelegramClient):
    """Counts each ``send_message`` in ``portside_telegram_sends_total{outcome}``, where
    ``outcome`` is ``accepted``, ``not_sent`` (retried later), ``rejected`` or ``unknown``."""

    def __init__(self, client: TelegramClient) -> None:
        self._client = client

    @property
    def configured(self) -> bool:
        return self._client.configured

    async def send_message(self, chat_id: int, text: str) -> SendResult:
        result = await self._client.send_message(chat_id, text)
        TELEGRAM_SENDS.labels(outcome=result.outcome.value).inc()
        return result

    async def get_me(self) -> BotInfo:
        return await self._client.get_me()

    async def set_webhook(self, url: str, secret_token: str) -> None:
        await self._client.set_webhook(url, secret_token)
