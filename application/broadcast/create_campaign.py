"""Create a draft campaign (admins only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from application.broadcast.access import CampaignView
from application.broadcast.ports import BroadcastUnitOfWork
from application.shared.actor import Actor
from application.shared.authorization import Action, AdminOnly
from application.shared.ports import Clock, IdGenerator
from domain.broadcast.campaign import Audience, Campaign, CampaignId, chat_ids
from domain.broadcast.delivery import Stats
from domain.shared.errors import InvalidValueError

__all__ = ["CreateCampaign", "CreateCampaignCommand"]


@dataclass(frozen=True, slots=True)
class CreateCampaignCommand:
    """Exactly one of ``recipients`` (chat ids) and ``audience="subscribers"``."""

    actor: Actor | None
    name: str
    text: str
    recipients: Sequence[int] | None = None
    audience: str | None = None


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
