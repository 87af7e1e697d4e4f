"""Start a campaign: its sending begins (admins only, audited)."""

from __future__ import annotations

from application.broadcast.access import CampaignView, announced_view, audit_move, campaign_view, load_campaign
from application.broadcast.ports import BroadcastUnitOfWork
from application.shared.actor import Actor
from application.shared.audit import Audit
from application.shared.authorization import Action, AdminOnly
from application.shared.ports import Clock
from application.shared.versioned import compare_and_set
from domain.broadcast.campaign import Audience, Campaign, CampaignId
from domain.shared.audit import AuditType

__all__ = ["StartCampaign"]


class StartCampaign:
    """``draft`` -> ``running`` (202); starting a running campaign again changes nothing
    (202 too); a completed or cancelled one is 409.

    - A ``subscribers`` campaign takes the chats subscribed now (a snapshot); with none it
      completes at once, with ``total`` 0.
    - The audit entry ``campaign.started`` (the admin as actor, no subject) is written in
      the same transaction, with ``campaign.progress``. A sender in the worker picks the
      campaign up within a second.
    """

    def __init__(self, uow: BroadcastUnitOfWork, policy: AdminOnly, clock: Clock, audit: Audit) -> None:
        self._uow = uow
        self._policy = policy
        self._clock = clock
        self._audit = audit

    async def __call__(self, actor: Actor | None, campaign_id: CampaignId) -> CampaignView:
        self._policy.require(actor, Action.EDIT, "start campaigns")
        assert actor is not None
        async with self._uow as uow:

            async def start() -> tuple[Campaign, bool]:
                campaign = await load_campaign(uow, campaign_id)
                started = campaign.start(self._clock.now())
                if started:
                    await uow.campaigns.save(campaign)
                return campaign, started

            campaign, started = await compare_and_set(None, start)
            if started:
                await self._begin(uow, campaign, actor)
            if started:
                view = await announced_view(uow, campaign, self._clock.now())
            else:
                view = await campaign_view(uow, campaign)
            await uow.commit()
        return view

    async def _begin(self, uow: BroadcastUnitOfWork, campaign: Campaign, actor: Actor) -> None:
        """Resolve a ``subscribers`` audience (complete at once when nobody is), and audit."""
        if campaign.audience is Audience.SUBSCRIBERS:
            subscribed = await uow.chats.subscribed()
            await uow.deliveries.add_many(campaign.id, subscribed)
            if not subscribed:
                campaign.complete(self._clock.now())
                await uow.campaigns.save(campaign)
        await audit_move(self._audit, uow, AuditType.CAMPAIGN_STARTED, actor, campaign)
