"""What the campaign use-cases share: loading a campaign, and a campaign with its counts."""

from __future__ import annotations

from dataclasses import dataclass

from application.broadcast.ports import BroadcastUnitOfWork
from application.errors import NotFoundError
from domain.broadcast.campaign import Campaign, CampaignId
from domain.broadcast.delivery import Stats

__all__ = ["CampaignView", "campaign_view", "load_campaign"]


@dataclass(frozen=True, slots=True)
class CampaignView:
    campaign: Campaign
    stats: Stats


async def load_campaign(uow: BroadcastUnitOfWork, campaign_id: CampaignId) -> Campaign:
    """The campaign, or ``NotFoundError`` (404)."""
    campaign = await uow.campaigns.get(campaign_id)
    if campaign is None:
        raise NotFoundError("campaign", campaign_id)
    return campaign


async def campaign_view(uow: BroadcastUnitOfWork, campaign: Campaign) -> CampaignView:
    """The campaign with its delivery counts, as this unit of work sees them."""
    stats = await uow.deliveries.stats([campaign.id])
    return CampaignView(campaign, stats[campaign.id])
