"""The bot's webhook: updates stored once, then handled in a job."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from application.chat.ports import ChatUnitOfWork
from application.errors import ApplicationError, NotFoundError
from application.shared.events import Envelope
from application.shared.handlers import EventHandler
from application.shared.ports import Clock, IdGenerator
from domain.chat.chat import Message, MessageId, Thread, ThreadId, WebhookUpdate
from domain.shared.errors import InvalidValueError

__all__ = ["HandleUpdate", "ReceiveUpdate", "WebhookSecretError", "WebhookSettings"]

_TITLE_MAX = 200
_MESSAGE_IDS = uuid.UUID("6f1c2b0e-5d4a-4f63-9a51-2f7d3c8e9b10")


class WebhookSecretError(ApplicationError):
    """The ``X-Telegram-Bot-Api-Secret-Token`` header is missing or wrong (401)."""

    def __init__(self) -> None:
        super().__init__("the webhook secret token is missing or wrong")


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    secret: str | None
    """``PORTSIDE_TELEGRAM_WEBHOOK_SECRET``; ``None``: the webhook is off (404)."""


class ReceiveUpdate:
    """Store a Telegram ``Update`` once per ``update_id`` and answer at once; a job does
    what it asks (``HandleUpdate``).

    - No secret configured: ``NotFoundError`` (the webhook does not exist). A missing or
      wrong ``X-Telegram-Bot-Api-Secret-Token`` (compared in constant time):
      ``WebhookSecretError``, and nothing is stored.
    - Unknown fields and kinds of update are accepted; only ``update_id`` (an integer) is
      required. A repeated ``update_id`` is stored once and handled once.
    """

    def __init__(self, uow: ChatUnitOfWork, settings: WebhookSettings, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._settings = settings
        self._clock = clock
        self._ids = ids

    def check(self, secret_token: str | None) -> None:
        """The secret check alone, before the body is read."""
        expected = self._settings.secret
        if expected is None:
            raise NotFoundError("webhook", "bot")
        given = (secret_token or "").encode()
        if not hmac.compare_digest(given, expected.encode()):
            raise WebhookSecretError()

    async def __call__(self, secret_token: str | None, payload: Mapping[str, Any]) -> bool:
        """True when the update is new."""
        self.check(secret_token)
        update_id = payload.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id < 2**63:
            raise InvalidValueError("update_id", "must be a non-negative integer")
        update = WebhookUpdate.receive(
            record_id=self._ids.new_id(), update_id=update_id, payload=dict(payload), at=self._clock.now()
        )
        async with self._uow as uow:
            new = await uow.updates.add_if_new(update)
            await uow.commit()
        return new


class HandleUpdate(EventHandler):
    """What an update asks, after the webhook stored it: ``/start`` subscribes the chat to
    broadcasts (and unblocks it), ``/stop`` unsubscribes it, and every text message joins
    the chat's thread (made on its first message). All of it in one transaction, keyed by
    the update: a rerun finds its message stored and does nothing."""

    name: ClassVar[str] = "chat.handle_update"
    events: ClassVar[frozenset[str]] = frozenset({"bot.update_received"})

    def __init__(self, uow: ChatUnitOfWork, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    async def __call__(self, envelope: Envelope) -> None:
        update_id = int(envelope.payload["update_id"])
        async with self._uow as uow:
            update = await uow.updates.get(update_id)
            incoming = None if update is None else _incoming(update.payload)
            if incoming is None:
                return
            chat_id, title, text = incoming
            message_id = MessageId(uuid.uuid5(_MESSAGE_IDS, str(update_id)))
            if await uow.messages.get(message_id) is not None:
                return  # handled already (a rerun)
            now = self._clock.now()
            command = text.strip().split(maxsplit=1)[0].split("@", 1)[0] if text.strip() else ""
            if command == "/start":
                await uow.chats.subscribe(chat_id, now)
            elif command == "/stop":
                await uow.chats.unsubscribe(chat_id, now)
            thread = await uow.threads.by_chat(chat_id)
            thread = Thread(
                id=thread.id if thread else ThreadId(self._ids.new_id()),
                chat_id=chat_id,
                title=title,
                last_message_at=now,
                blocked=False,
            )
            await uow.threads.put(thread)
            await uow.messages.add(Message.received(message_id=message_id, thread_id=thread.id, text=text, at=now))
            await uow.commit()


def _incoming(payload: Mapping[str, Any]) -> tuple[int, str, str] | None:
    """(chat id, a title for its thread, the text) of an update carrying a text message."""
    message = payload.get("message")
    if not isinstance(message, dict):
        return None
    chat, text = message.get("chat"), message.get("text")
    if not isinstance(chat, dict) or not isinstance(text, str):
        return None
    chat_id = chat.get("id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        return None
    names = [chat.get(k) for k in ("title", "first_name", "last_name")]
    title = " ".join(n for n in names if isinstance(n, str) and n.strip()) or str(chat.get("username") or chat_id)
    return chat_id, title.strip()[:_TITLE_MAX], text.replace("\x00", "")
