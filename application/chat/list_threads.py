"""List the bot's chats (admins only)."""

from __future__ import annotations

from application.chat.ports import ChatUnitOfWork
from application.shared.actor import Actor
from application.shared.authorization import Action, AdminOnly
from domain.chat.chat import Thread
from domain.shared.pagination import DEFAULT_PAGE_SIZE, Page, PageRequest

__all__ = ["ListThreads"]


class ListThreads:
    """The bot's chats, the most recently active first; ``blocked`` when the bot is blocked there."""

    def __init__(self, uow: ChatUnitOfWork, policy: AdminOnly) -> None:
        self._uow = uow
        self._policy = policy

    async def __call__(self, actor: Actor | None, page: int = 1, size: int = DEFAULT_PAGE_SIZE) -> Page[Thread]:
        self._policy.require(actor, Action.READ, "read the bot's chats")
        async with self._uow as uow:
            return await uow.threads.page(PageRequest(page, size))
