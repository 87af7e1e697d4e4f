"""``MeteredTelegramClient`` counts every send by the outcome the client reported."""

from __future__ import annotations

from adapters.prometheus.metrics import TELEGRAM_SENDS
from adapters.prometheus.telegram import MeteredTelegramClient
from application.telegram.client import BotInfo, Rejection, SendOutcome, SendResult, TelegramClient

_SCRIPT = {
    1: SendResult(SendOutcome.ACCEPTED, message_id=10),
    2: SendResult(SendOutcome.NOT_SENT, retry_after=3),
    3: SendResult(SendOutcome.REJECTED, rejection=Rejection.BLOCKED),
    4: SendResult(SendOutcome.UNKNOWN),
}


class _Scripted(TelegramClient):
    @property
    def configured(self) -> bool:
        return True

    async def send_message(self, chat_id: int, text: str) -> SendResult:
        return _SCRIPT[chat_id]

    async def get_me(self) -> BotInfo:
        return BotInfo(id=1, username="bot")

    async def set_webhook(self, url: str, secret_token: str) -> None:
        return None


def _count(outcome: SendOutcome) -> float:
    return TELEGRAM_SENDS.labels(outcome=outcome.value)._value.get()  # type: ignore[attr-defined]


async def test_each_send_is_counted_under_its_outcome_and_passed_through() -> None:
    client = MeteredTelegramClient(_Scripted())
    before = {outcome: _count(outcome) for outcome in SendOutcome}
    results = [await client.send_message(chat_id, "hi") for chat_id in (1, 1, 2, 3, 4)]
    assert results == [_SCRIPT[1], _SCRIPT[1], _SCRIPT[2], _SCRIPT[3], _SCRIPT[4]]
    counted = {outcome.value: _count(outcome) - before[outcome] for outcome in SendOutcome}
    assert counted == {"accepted": 2, "not_sent": 1, "rejected": 1, "unknown": 1}
    assert client.configured and (await client.get_me()).username == "bot"
