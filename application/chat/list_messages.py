"""List a thread's messages (admins only)."""

from __future__ import annotations

from application.chat.ports import ChatUnitOfWork
from application.errors import NotFoundError
from application.shared.actor import Actor
from application.shared.authorization import Action, AdminOnly
from domain.chat.chat import Message, ThreadId
from domain.shared.pagination import DEFAULT_PAGE_SIZE, Page, PageRequest

__all__ = ["ListMessages"]


class ListMessages:
    """A thread's messages, newest first (a reply being sent shows as ``pending``)."""

    def __init__(self, uow: ChatUnitOfWork, policy: AdminOnly) -> None:
        self._uow = uow
        self._policy = policy

    async def __call__(
        self, actor: Actor | None, thread_id: ThreadId, page: int = 1, size: int = DEFAULT_PAGE_SIZE
    ) -> Page[Message]:
        self._policy.require(actor, Action.READ, "read the bot's chats")
        request = PageRequest(page, size)
        async with self._uow as uow:
            if await uow.threads.get(thread_id) is None:
                raise NotFoundError("thread", thread_id)
            return await uow.messages.page(thread_id, request)
