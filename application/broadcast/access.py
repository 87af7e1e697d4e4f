"""What the campaign use-cases share: loading a campaign, its counts, announcing them, and
auditing an admin's move."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.broadcast.ports import BroadcastUnitOfWork
from application.errors import NotFoundError
from application.shared.actor import Actor
from application.shared.audit import Audit
from domain.broadcast.campaign import Campaign, CampaignId
from domain.broadcast.delivery import Stats

__all__ = ["CampaignView", "announced_view", "audit_move", "campaign_view", "load_campaign", "stats_of"]


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


async def stats_of(uow: BroadcastUnitOfWork, campaign_id: CampaignId) -> Stats:
    """The campaign's delivery counts, as this unit of work sees them."""
    return (await uow.deliveries.stats([campaign_id]))[campaign_id]


async def campaign_view(uow: BroadcastUnitOfWork, campaign: Campaign) -> CampaignView:
    """The campaign with its delivery counts, as this unit of work sees them."""
    return CampaignView(campaign, await stats_of(uow, campaign.id))


async def announced_view(uow: BroadcastUnitOfWork, campaign: Campaign, now: datetime) -> CampaignView:
    """``campaign_view``, with ``campaign.progress`` (those counts) handed to the unit of work."""
    view = await campaign_view(uow, campaign)
    campaign.report_progress(view.stats, now)
    await uow.campaigns.announce(campaign)
    return view


async def audit_move(audit: Audit, uow: BroadcastUnitOfWork, kind: str, actor: Actor, campaign: Campaign) -> None:
    """The audit entry of an admin's move on a campaign, in the move's transaction."""
    await audit.record(
        uow.audit_log, kind, subject_id=None, actor_id=actor.user_id, detail={"campaign_id": str(campaign.id)}
    )
