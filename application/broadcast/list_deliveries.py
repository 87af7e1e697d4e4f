"""List a campaign's deliveries (admins only)."""

from __future__ import annotations

from application.broadcast.access import load_campaign
from application.broadcast.ports import BroadcastUnitOfWork
from application.shared.actor import Actor
from application.shared.authorization import Action, AdminOnly
from domain.broadcast.campaign import CampaignId
from domain.broadcast.delivery import Delivery
from domain.shared.pagination import DEFAULT_PAGE_SIZE, Page, PageRequest

__all__ = ["ListDeliveries"]


class ListDeliveries:
    """A campaign's deliveries in chat id order (a delivery being sent shows as pending)."""

    def __init__(self, uow: BroadcastUnitOfWork, policy: AdminOnly) -> None:
        self._uow = uow
        self._policy = policy

    async def __call__(
        self, actor: Actor | None, campaign_id: CampaignId, page: int = 1, size: int = DEFAULT_PAGE_SIZE
    ) -> Page[Delivery]:
        self._policy.require(actor, Action.READ, "read deliveries")
        request = PageRequest(page, size)
        async with self._uow as uow:
            await load_campaign(uow, campaign_id)
            return await uow.deliveries.page(campaign_id, request)
