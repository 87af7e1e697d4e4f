"""List campaigns, newest first, each with its counts (admins only)."""

from __future__ import annotations

from application.broadcast.access import CampaignView
from application.broadcast.ports import BroadcastUnitOfWork
from application.shared.actor import Actor
from application.shared.authorization import Action, AdminOnly
from domain.shared.pagination import DEFAULT_PAGE_SIZE, Page, PageRequest

__all__ = ["ListCampaigns"]


class ListCampaigns:
    """Newest first, each with its delivery counts."""

    def __init__(self, uow: BroadcastUnitOfWork, policy: AdminOnly) -> None:
        self._uow = uow
        self._policy = policy

    async def __call__(self, actor: Actor | None, page: int = 1, size: int = DEFAULT_PAGE_SIZE) -> Page[CampaignView]:
        self._policy.require(actor, Action.READ, "list campaigns")
        request = PageRequest(page, size)
        async with self._uow as uow:
            found = await uow.campaigns.page(request)
            stats = await uow.deliveries.stats([c.id for c in found.items])
        return Page(items=[CampaignView(c, stats[c.id]) for c in found.items], request=request, total=found.total)
