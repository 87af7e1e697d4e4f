"""What admins do with the bot's chats: read threads and messages, reply, see its status."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import ClassVar

from application.chat.ports import ChatUnitOfWork
from application.chat.webhook import WebhookSettings
from application.errors import DependencyUnavailableError, NotFoundError
from application.shared.actor import Actor
from application.shared.authorization import Action, AdminOnly
from application.shared.events import Envelope
from application.shared.handlers import EventHandler
from application.shared.ports import Clock, IdGenerator
from application.telegram.client import Rejection, SendOutcome, TelegramClient
from application.telegram.pacing import SendPacer
from domain.chat.chat import Message, MessageId, MessageStatus, Thread, ThreadId
from domain.shared.pagination import DEFAULT_PAGE_SIZE, Page, PageRequest

__all__ = [
    "BotStatus",
    "BotStatusView",
    "GetMessage",
    "ListMessages",
    "ListThreads",
    "Reply",
    "ReplyCommand",
    "SendReply",
]


class _AdminReads:
    def __init__(self, uow: ChatUnitOfWork, policy: AdminOnly) -> None:
        self._uow = uow
        self._policy = policy


class ListThreads(_AdminReads):
    """The bot's chats, the most recently active first; ``blocked`` when the bot is blocked there."""

    async def __call__(self, actor: Actor | None, page: int = 1, size: int = DEFAULT_PAGE_SIZE) -> Page[Thread]:
        self._policy.require(actor, Action.READ, "read the bot's chats")
        async with self._uow as uow:
            return await uow.threads.page(PageRequest(page, size))


class ListMessages(_AdminReads):
    """A thread's messages, newest first (a reply being sent shows as ``pending``)."""

    async def __call__(
        self, actor: Actor | None, thread_id: ThreadId, page: int = 1, size: int = DEFAULT_PAGE_SIZE
    ) -> Page[Message]:
        self._policy.require(actor, Action.READ, "read the bot's chats")
        request = PageRequest(page, size)
        async with self._uow as uow:
            if await uow.threads.get(thread_id) is None:
                raise NotFoundError("thread", thread_id)
            return await uow.messages.page(thread_id, request)


class GetMessage(_AdminReads):
    async def __call__(self, actor: Actor | None, message_id: MessageId) -> Message:
        self._policy.require(actor, Action.READ, "read the bot's chats")
        async with self._uow as uow:
            message = await uow.messages.get(message_id)
        if message is None:
            raise NotFoundError("message", message_id)
        return message


@dataclass(frozen=True, slots=True)
class ReplyCommand:
    actor: Actor | None
    thread_id: ThreadId
    text: str


class Reply:
    """An admin's reply in a thread: stored ``pending`` and sent by the worker (202), at
    most once, as campaign deliveries are."""

    def __init__(self, uow: ChatUnitOfWork, policy: AdminOnly, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._policy = policy
        self._clock = clock
        self._ids = ids

    async def __call__(self, cmd: ReplyCommand) -> Message:
        self._policy.require(cmd.actor, Action.EDIT, "reply in the bot's chats")
        async with self._uow as uow:
            thread = await uow.threads.get(cmd.thread_id)
            if thread is None:
                raise NotFoundError("thread", cmd.thread_id)
            now = self._clock.now()
            message = Message.reply(message_id=MessageId(self._ids.new_id()), thread=thread, text=cmd.text, at=now)
            await uow.messages.add(message)
            await uow.threads.put(
                Thread(id=thread.id, chat_id=thread.chat_id, title=thread.title, last_message_at=now, blocked=False)
            )
            await uow.commit()
        return message


class ReplyNotSentError(DependencyUnavailableError):
    """Telegram provably did not take the reply (refused connection, 429): the job retries."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__("telegram", retry_after=max(1, int(retry_after or 1)))


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


@dataclass(frozen=True, slots=True)
class BotStatusView:
    configured: bool
    webhook_secret_set: bool
    subscribers: int
    queued_jobs: int


class BotStatus:
    def __init__(
        self,
        uow: ChatUnitOfWork,
        policy: AdminOnly,
        telegram: TelegramClient,
        settings: WebhookSettings,
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._telegram = telegram
        self._settings = settings

    async def __call__(self, actor: Actor | None) -> BotStatusView:
        self._policy.require(actor, Action.READ, "see the bot's status")
        async with self._uow as uow:
            subscribers = await uow.chats.count_subscribed()
            queued = await uow.backlog.queued()
        return BotStatusView(
            configured=self._telegram.configured,
            webhook_secret_set=self._settings.secret is not None,
            subscribers=subscribers,
            queued_jobs=queued,
        )
