"""The worker's side of a reply: send it to Telegram at most once."""

from __future__ import annotations

import asyncio
import math
import uuid
from typing import ClassVar

from application.chat.ports import ChatUnitOfWork
from application.errors import RetryLaterError
from application.shared.events import Envelope
from application.shared.handlers import EventHandler
from application.shared.ports import Clock
from application.telegram.client import Rejection, SendOutcome, TelegramClient
from application.telegram.pacing import SendPacer
from domain.chat.chat import MessageId, MessageStatus

__all__ = ["ReplyNotSentError", "SendReply"]


class ReplyNotSentError(RetryLaterError):
    """Telegram provably did not take the reply (refused connection, 429): the job retries."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__("telegram", retry_after=math.ceil(retry_after or 1))


class SendReply(EventHandler):
    """Sends a queued reply: pace, claim (``pending`` -> ``sending``, committed), send,
    record. A rerun that finds the reply ``sending`` (a worker died mid-send) fails it with
    ``unknown_outcome`` instead of sending it again; one that was provably not sent goes
    back to ``pending`` and the job is retried."""

    name: ClassVar[str] = "chat.send_reply"
    events: ClassVar[frozenset[str]] = frozenset({"chat.reply_queued"})

    def __init__(self, uow: ChatUnitOfWork, telegram: TelegramClient, pacer: SendPacer, clock: Clock) -> None:
        self._uow = uow
        self._telegram = telegram
        self._pacer = pacer
        self._clock = clock

    async def __call__(self, envelope: Envelope) -> None:
        message_id, chat_id = MessageId(_uuid(envelope.payload["message_id"])), int(envelope.payload["chat_id"])
        async with self._uow as uow:
            message = await uow.messages.get(message_id)
            if message is not None and message.status is MessageStatus.SENDING:
                await uow.messages.finish(message_id, sent_at=None, error="unknown_outcome")
                await uow.commit()
            if message is None or message.status is not MessageStatus.PENDING:
                return
        await asyncio.sleep(await self._pacer.reserve(chat_id))
        async with self._uow as uow:
            claimed = await uow.messages.claim(message_id)
            await uow.commit()
        if not claimed:
            return
        result = await self._telegram.send_message(chat_id, message.text)
        async with self._uow as uow:
            if result.outcome is SendOutcome.NOT_SENT:
                await uow.messages.release(message_id)
            elif result.outcome is SendOutcome.ACCEPTED:
                await uow.messages.finish(message_id, sent_at=self._clock.now(), error=None)
            else:
                rejection = result.rejection.value if result.rejection else "unknown_outcome"
                await uow.messages.finish(message_id, sent_at=None, error=rejection)
                if result.rejection is Rejection.BLOCKED:
                    await uow.chats.mark_blocked(chat_id, self._clock.now())
            await uow.commit()
        if result.outcome is SendOutcome.NOT_SENT:
            raise ReplyNotSentError(result.retry_after)


def _uuid(value: object) -> MessageId:
    return MessageId(uuid.UUID(str(value)))
