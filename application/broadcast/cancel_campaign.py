"""Cancel a campaign: nothing more is sent (admins only, audited)."""

from __future__ import annotations

from application.broadcast.access import CampaignView, announced_view, audit_move, load_campaign
from application.broadcast.ports import BroadcastUnitOfWork
from application.shared.actor import Actor
from application.shared.audit import Audit
from application.shared.authorization import Action, AdminOnly
from application.shared.ports import Clock
from application.shared.versioned import compare_and_set
from domain.broadcast.campaign import Campaign, CampaignId
from domain.shared.audit import AuditType

__all__ = ["CancelCampaign"]


class CancelCampaign:
    """``draft`` or ``running`` -> ``cancelled`` (202); otherwise 409. Deliveries not yet
    sent end ``failed`` with ``cancelled`` in the same transaction, so no send starts after
    this returns (one already in flight may finish, and its sender records it). Deliveries
    a sender that died had claimed end ``failed`` with ``unknown_outcome`` (no live sender
    holds the campaign). Audited as ``campaign.cancelled``; ``campaign.progress`` tells the
    final counts."""

    def __init__(self, uow: BroadcastUnitOfWork, policy: AdminOnly, clock: Clock, audit: Audit) -> None:
        self._uow = uow
        self._policy = policy
        self._clock = clock
        self._audit = audit

    async def __call__(self, actor: Actor | None, campaign_id: CampaignId) -> CampaignView:
        self._policy.require(actor, Action.EDIT, "cancel campaigns")
        assert actor is not None
        async with self._uow as uow:

            async def cancel() -> Campaign:
                campaign = await load_campaign(uow, campaign_id)
                campaign.cancel(self._clock.now())
                await uow.campaigns.save(campaign)
                return campaign

            campaign = await compare_and_set(None, cancel)
            await uow.deliveries.cancel_pending(campaign.id)
            if not await uow.campaigns.has_live_sender(campaign.id, self._clock.now()):
                # A dead sender's claims: nobody will record them, nobody may resend them.
                await uow.deliveries.fail_in_flight(campaign.id)
            await audit_move(self._audit, uow, AuditType.CAMPAIGN_CANCELLED, actor, campaign)
            view = await announced_view(uow, campaign, self._clock.now())
            await uow.commit()
        return view
