"""``TracedTelegramClient``: a span per Bot API call, with its outcome and never its content."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.trace import Span, SpanKind, Tracer

from adapters.otel.spans import failed
from application.telegram.client import BotInfo, SendOutcome, SendResult, TelegramClient

__all__ = ["OUTCOME", "REJECTION", "TracedTelegramClient"]

OUTCOME = "portside.telegram.outcome"
REJECTION = "portside.telegram.rejection"


class TracedTelegramClient(TelegramClient):
    """``client``'s calls, each a client span named ``telegram <method>`` (``telegram
    sendMessage``). A send records its outcome class (``accepted``, ``not_sent``,
    ``rejected``, ``unknown``) and, for a refusal, why; an ``unknown`` outcome marks the
    span an error. No span carries the bot token (it is in the URL, which is not recorded),
    a chat id, a text or a webhook secret."""

    def __init__(self, client: TelegramClient, tracer: Tracer) -> None:
        self._client = client
        self._tracer = tracer

    @property
    def configured(self) -> bool:
        return self._client.configured

    async def send_message(self, chat_id: int, text: str) -> SendResult:
        with self._span("sendMessage") as span:
            result = await self._client.send_message(chat_id, text)
            span.set_attribute(OUTCOME, result.outcome.value)
            if result.rejection is not None:
                span.set_attribute(REJECTION, str(result.rejection))
            if result.outcome is SendOutcome.UNKNOWN:
                failed(span, "unknown_outcome")
            return result

    async def get_me(self) -> BotInfo:
        with self._span("getMe"):
            return await self._client.get_me()

    async def set_webhook(self, url: str, secret_token: str) -> None:
        with self._span("setWebhook"):
            await self._client.set_webhook(url, secret_token)

    @contextmanager
    def _span(self, method: str) -> Iterator[Span]:
        with self._tracer.start_as_current_span(
            f"telegram {method}",
            kind=SpanKind.CLIENT,
            attributes={"rpc.system": "telegram", "rpc.method": method},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except BaseException as error:
                failed(span, error)
                raise
