"""What a stored update asks: ``/start``, ``/stop``, and a message in the chat's thread."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from application.chat.ports import ChatUnitOfWork
from application.shared.events import Envelope
from application.shared.handlers import EventHandler
from application.shared.ports import Clock, IdGenerator
from domain.chat.chat import Message, MessageId, ThreadId

__all__ = ["HandleUpdate"]

_TITLE_MAX = 200
_MESSAGE_IDS = uuid.UUID("6f1c2b0e-5d4a-4f63-9a51-2f7d3c8e9b10")


class HandleUpdate(EventHandler):
    """What an update asks, after the webhook stored it: ``/start`` subscribes the chat to
    broadcasts (and unblocks it), ``/stop`` unsubscribes it, and every text message joins
    the chat's thread (made on its first message). All of it in one transaction, keyed by
    the update: a rerun finds its message stored and does nothing. Two updates of one chat
    may be handled at once, or out of order, by two workers: they share one thread, and a
    command older than the last applied (by Telegram's ``message_id``) changes nothing."""

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
            message_id = MessageId(uuid.uuid5(_MESSAGE_IDS, str(update_id)))
            if await uow.messages.get(message_id) is not None:
                return  # handled already (a rerun)
            now = self._clock.now()
            command = incoming.text.strip().split(maxsplit=1)[0].split("@", 1)[0] if incoming.text.strip() else ""
            if command == "/start":
                await uow.chats.subscribe(incoming.chat_id, now, incoming.order)
            elif command == "/stop":
                await uow.chats.unsubscribe(incoming.chat_id, now, incoming.order)
            thread_id = await uow.threads.touch(incoming.chat_id, incoming.title, now, ThreadId(self._ids.new_id()))
            message = Message.received(message_id=message_id, thread_id=thread_id, text=incoming.text, at=now)
            await uow.messages.add(message)
            await uow.commit()


@dataclass(frozen=True, slots=True)
class _Incoming:
    chat_id: int
    title: str
    """A title for the chat's thread."""
    text: str
    order: int
    """Telegram's ``message_id``: it increases within a chat (0 when missing)."""


def _incoming(payload: Mapping[str, Any]) -> _Incoming | None:
    """The text message an update carries, if it carries one."""
    message = payload.get("message")
    if not isinstance(message, dict):
        return None
    chat, text = message.get("chat"), message.get("text")
    if not isinstance(chat, dict) or not isinstance(text, str):
        return None
    chat_id, order = chat.get("id"), message.get("message_id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        return None
    names = [chat.get(k) for k in ("title", "first_name", "last_name")]
    title = " ".join(n for n in names if isinstance(n, str) and n.strip()) or str(chat.get("username") or chat_id)
    if not isinstance(order, int) or isinstance(order, bool) or not 0 <= order < 2**63:
        order = 0
    return _Incoming(chat_id, title.strip()[:_TITLE_MAX], text.replace("\x00", ""), order)
