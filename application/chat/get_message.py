"""Read one message of the bot's chats (admins only)."""

from __future__ import annotations

from application.chat.ports import ChatUnitOfWork
from application.errors import NotFoundError
from application.shared.actor import Actor
from application.shared.authorization import Action, AdminOnly
from domain.chat.chat import Message, MessageId

__all__ = ["GetMessage"]


class GetMessage:
    """One message of any thread, received or an admin's reply; a reply being sent shows as
    ``pending``, and a failed one says why in ``error``."""

    def __init__(self, uow: ChatUnitOfWork, policy: AdminOnly) -> None:
        self._uow = uow
        self._policy = policy

    async def __call__(self, actor: Actor | None, message_id: MessageId) -> Message:
        self._policy.require(actor, Action.READ, "read the bot's chats")
        async with self._uow as uow:
            message = await uow.messages.get(message_id)
        if message is None:
            raise NotFoundError("message", message_id)
        return message
