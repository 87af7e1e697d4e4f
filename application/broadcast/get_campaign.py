"""Read one campaign with its delivery counts (admins only)."""

from __future__ import annotations

from application.broadcast.access import CampaignView, campaign_view, load_campaign
from application.broadcast.ports import BroadcastUnitOfWork
from application.shared.actor import Actor
from application.shared.authorization import Action, AdminOnly
from domain.broadcast.campaign import CampaignId

__all__ = ["GetCampaign"]


class GetCampaign:
    """One campaign with its ``stats``, counted from its delivery rows as it is read (a delivery
    being sent counts as pending)."""

    def __init__(self, uow: BroadcastUnitOfWork, policy: AdminOnly) -> None:
        self._uow = uow
        self._policy = policy

    async def __call__(self, actor: Actor | None, campaign_id: CampaignId) -> CampaignView:
        self._policy.require(actor, Action.READ, "read campaigns")
        async with self._uow as uow:
            return await campaign_view(uow, await load_campaign(uow, campaign_id))
