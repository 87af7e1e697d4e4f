"""Delete a campaign that is not running, with its deliveries (admins only)."""

from __future__ import annotations

from application.broadcast.access import load_campaign
from application.broadcast.ports import BroadcastUnitOfWork
from application.shared.actor import Actor
from application.shared.authorization import Action, AdminOnly
from application.shared.versioned import compare_and_set
from domain.broadcast.campaign import CampaignId

__all__ = ["DeleteCampaign"]


class DeleteCampaign:
    """Delete a campaign and its deliveries, unless it is running (409: cancel it first)."""

    def __init__(self, uow: BroadcastUnitOfWork, policy: AdminOnly) -> None:
        self._uow = uow
        self._policy = policy

    async def __call__(self, actor: Actor | None, campaign_id: CampaignId) -> None:
        self._policy.require(actor, Action.DELETE, "delete campaigns")
        async with self._uow as uow:

            async def delete() -> None:
                campaign = await load_campaign(uow, campaign_id)
                campaign.check_deletable()
                await uow.campaigns.delete(campaign)

            await compare_and_set(None, delete)
            await uow.commit()
