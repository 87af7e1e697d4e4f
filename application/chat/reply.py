"""An admin's reply in a thread, queued for the worker to send."""

from __future__ import annotations

from dataclasses import dataclass

from application.chat.ports import ChatUnitOfWork
from application.errors import NotFoundError
from application.shared.actor import Actor
from application.shared.authorization import Action, AdminOnly
from application.shared.ports import Clock, IdGenerator
from domain.chat.chat import Message, MessageId, ThreadId

__all__ = ["Reply", "ReplyCommand"]


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
            await uow.threads.touch(thread.chat_id, thread.title, now, thread.id)
            await uow.commit()
        return message
