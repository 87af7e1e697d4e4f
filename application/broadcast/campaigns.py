"""Campaign use-cases an admin calls: create, read, list, start, cancel, delete, deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from application.broadcast.ports import BroadcastUnitOfWork
from application.errors import NotFoundError
from application.shared.actor import Actor
from application.shared.audit import Audit
from application.shared.authorization import Action, AdminOnly
from application.shared.ports import Clock, IdGenerator
from application.shared.versioned import compare_and_set
from domain.broadcast.campaign import Audience, Campaign, CampaignId, chat_ids
from domain.broadcast.delivery import Delivery, Stats
from domain.shared.audit import AuditType
from domain.shared.errors import InvalidValueError
from domain.shared.pagination import DEFAULT_PAGE_SIZE, Page, PageRequest

__all__ = [
    "CampaignView",
    "CancelCampaign",
    "CreateCampaign",
    "CreateCampaignCommand",
    "DeleteCampaign",
    "GetCampaign",
    "ListCampaigns",
    "ListDeliveries",
    "StartCampaign",
]


@dataclass(frozen=True, slots=True)
class CampaignView:
    campaign: Campaign
    stats: Stats


@dataclass(frozen=True, slots=True)
class CreateCampaignCommand:
    """Exactly one of ``recipients`` (chat ids) and ``audience="subscribers"``."""

    actor: Actor | None
    name: str
    text: str
    recipients: Sequence[int] | None = None
    audience: str | None = None


async def _load(uow: BroadcastUnitOfWork, campaign_id: CampaignId) -> Campaign:
    campaign = await uow.campaigns.get(campaign_id)
    if campaign is None:
        raise NotFoundError("campaign", campaign_id)
    return campaign


async def _view(uow: BroadcastUnitOfWork, campaign: Campaign) -> CampaignView:
    stats = await uow.deliveries.stats([campaign.id])
    return CampaignView(campaign, stats[campaign.id])


class _CampaignUseCase:
    def __init__(self, uow: BroadcastUnitOfWork, policy: AdminOnly) -> None:
        self._uow = uow
        self._policy = policy


class CreateCampaign:
    """A draft campaign (admins only). Explicit recipients (1..100,000 chat ids, duplicates
    removed) get their deliveries now, so a draft shows ``total == pending``; the
    ``subscribers`` audience is resolved when the campaign starts."""

    def __init__(self, uow: BroadcastUnitOfWork, policy: AdminOnly, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._policy = policy
        self._clock = clock
        self._ids = ids

    async def __call__(self, cmd: CreateCampaignCommand) -> CampaignView:
        self._policy.require(cmd.actor, Action.EDIT, "create campaigns")
        assert cmd.actor is not None
        if (cmd.recipients is None) == (cmd.audience is None):
            raise InvalidValueError("recipients", "give either recipients or audience, not both or neither")
        if cmd.audience is not None and cmd.audience != Audience.SUBSCRIBERS:
            raise InvalidValueError("audience", 'the only audience is "subscribers"')
        recipients = None if cmd.recipients is None else chat_ids(list(cmd.recipients))
        campaign = Campaign.create(
            campaign_id=CampaignId(self._ids.new_id()),
            name=cmd.name,
            text=cmd.text,
            audience=Audience.SUBSCRIBERS if recipients is None else Audience.EXPLICIT,
            created_by=cmd.actor.user_id,
            now=self._clock.now(),
        )
        async with self._uow as uow:
            await uow.campaigns.add(campaign)
            if recipients is not None:
                await uow.deliveries.add_many(campaign.id, recipients)
            await uow.commit()
        count = 0 if recipients is None else len(recipients)
        return CampaignView(campaign, Stats(total=count, pending=count))


class GetCampaign(_CampaignUseCase):
    async def __call__(self, actor: Actor | None, campaign_id: CampaignId) -> CampaignView:
        self._policy.require(actor, Action.READ, "read campaigns")
        async with self._uow as uow:
            return await _view(uow, await _load(uow, campaign_id))


class ListCampaigns(_CampaignUseCase):
    """Newest first, each with its delivery counts."""

    async def __call__(self, actor: Actor | None, page: int = 1, size: int = DEFAULT_PAGE_SIZE) -> Page[CampaignView]:
        self._policy.require(actor, Action.READ, "list campaigns")
        request = PageRequest(page, size)
        async with self._uow as uow:
            found = await uow.campaigns.page(request)
            stats = await uow.deliveries.stats([c.id for c in found.items])
        return Page(items=[CampaignView(c, stats[c.id]) for c in found.items], request=request, total=found.total)


class ListDeliveries(_CampaignUseCase):
    """A campaign's deliveries in chat id order (a delivery being sent shows as pending)."""

    async def __call__(
        self, actor: Actor | None, campaign_id: CampaignId, page: int = 1, size: int = DEFAULT_PAGE_SIZE
    ) -> Page[Delivery]:
        self._policy.require(actor, Action.READ, "read deliveries")
        request = PageRequest(page, size)
        async with self._uow as uow:
            await _load(uow, campaign_id)
            return await uow.deliveries.page(campaign_id, request)


class _Transition:
    def __init__(self, uow: BroadcastUnitOfWork, policy: AdminOnly, clock: Clock, audit: Audit) -> None:
        self._uow = uow
        self._policy = policy
        self._clock = clock
        self._audit = audit


class StartCampaign(_Transition):
    """``draft`` -> ``running`` (202); starting a running campaign again changes nothing
    (202 too); a completed or cancelled one is 409.

    - A ``subscribers`` campaign takes the chats subscribed now (a snapshot); with none it
      completes at once, with ``total`` 0.
    - The audit entry ``campaign.started`` (the admin as actor, no subject) is written in
      the same transaction. A sender in the worker picks the campaign up within a second.
    """

    async def __call__(self, actor: Actor | None, campaign_id: CampaignId) -> CampaignView:
        self._policy.require(actor, Action.EDIT, "start campaigns")
        assert actor is not None
        async with self._uow as uow:

            async def start() -> tuple[Campaign, bool]:
                campaign = await _load(uow, campaign_id)
                started = campaign.start(self._clock.now())
                if started:
                    await uow.campaigns.save(campaign)
                return campaign, started

            campaign, started = await compare_and_set(None, start)
            if started:
                if campaign.audience is Audience.SUBSCRIBERS:
                    subscribed = await uow.chats.subscribed()
                    await uow.deliveries.add_many(campaign.id, subscribed)
                    if not subscribed:
                        campaign.complete(self._clock.now())
                        await uow.campaigns.save(campaign)
                await self._audit.record(
                    uow.audit_log,
                    AuditType.CAMPAIGN_STARTED,
                    subject_id=None,
                    actor_id=actor.user_id,
                    detail={"campaign_id": str(campaign.id)},
                )
            view = await _view(uow, campaign)
            await uow.commit()
        return view


class CancelCampaign(_Transition):
    """``draft`` or ``running`` -> ``cancelled`` (202); otherwise 409. Deliveries not yet
    sent end ``failed`` with ``cancelled`` in the same transaction, so no send starts after
    this returns (one already in flight may finish, and its sender records it). Deliveries
    a sender that died had claimed end ``failed`` with ``unknown_outcome`` (no live sender
    holds the campaign). Audited as ``campaign.cancelled``."""

    async def __call__(self, actor: Actor | None, campaign_id: CampaignId) -> CampaignView:
        self._policy.require(actor, Action.EDIT, "cancel campaigns")
        assert actor is not None
        async with self._uow as uow:

            async def cancel() -> Campaign:
                campaign = await _load(uow, campaign_id)
                campaign.cancel(self._clock.now())
                await uow.campaigns.save(campaign)
                return campaign

            campaign = await compare_and_set(None, cancel)
            await uow.deliveries.cancel_pending(campaign.id)
            if not await uow.campaigns.has_live_sender(campaign.id, self._clock.now()):
                # A dead sender's claims: nobody will record them, nobody may resend them.
                await uow.deliveries.fail_in_flight(campaign.id)
            await self._audit.record(
                uow.audit_log,
                AuditType.CAMPAIGN_CANCELLED,
                subject_id=None,
                actor_id=actor.user_id,
                detail={"campaign_id": str(campaign.id)},
            )
            view = await _view(uow, campaign)
            await uow.commit()
        return view


class DeleteCampaign(_CampaignUseCase):
    """Delete a campaign and its deliveries, unless it is running (409: cancel it first)."""

    async def __call__(self, actor: Actor | None, campaign_id: CampaignId) -> None:
        self._policy.require(actor, Action.DELETE, "delete campaigns")
        async with self._uow as uow:

            async def delete() -> None:
                campaign = await _load(uow, campaign_id)
                campaign.check_deletable()
                await uow.campaigns.delete(campaign)

            await compare_and_set(None, delete)
            await uow.commit()
