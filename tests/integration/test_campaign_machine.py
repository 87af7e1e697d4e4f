"""Campaigns through their use-cases and the sender, against a model: at most once, always.

One in-memory store is shared by the admin's use-cases (create, start, cancel, delete, get,
list deliveries) and a ``CampaignSender``. Telegram is an in-process fake scripted per
(campaign text, chat): accepted, not sent once (a 429 with a tiny ``retry_after``), rejected
(blocked) or unknown. A ``crash`` step is a sender that takes a campaign's lease, claims one
pending delivery (committed) and dies, before Telegram took the message or after (the fake
then records the call); ``resume`` advances the clock past the dead sender's lease and runs
``send_one_campaign`` until no running campaign is left.

The model knows each campaign's status and, per recipient, the scripted outcome, the
delivery's state, error and attempts, and how many requests Telegram should have seen. After
every step the store, the use-cases' stats and the fake's calls agree with it exactly; above
all, no chat was ever sent a campaign's message twice. The model and the fakes are in
``tests/support/campaign_model.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections import Counter
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, TypeVar
from uuid import uuid4

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from adapters.memory.broadcast import InMemoryBroadcastUnitOfWork
from adapters.memory.database import InMemoryDatabase
from adapters.memory.send_pacer import InMemorySendPacer
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.system.ids import Uuid7Generator
from application.broadcast.access import CampaignView
from application.broadcast.cancel_campaign import CancelCampaign
from application.broadcast.create_campaign import CreateCampaign, CreateCampaignCommand
from application.broadcast.delete_campaign import DeleteCampaign
from application.broadcast.get_campaign import GetCampaign
from application.broadcast.list_deliveries import ListDeliveries
from application.broadcast.ports import BroadcastUnitOfWork
from application.broadcast.sender import CampaignSender, SenderRules
from application.broadcast.start_campaign import StartCampaign
from application.errors import NotFoundError
from application.shared.actor import Actor
from application.shared.audit import Audit
from application.shared.authorization import AdminOnly
from application.shared.events import Provenance
from application.telegram.pacing import SendLimits
from domain.broadcast.campaign import CampaignId, CampaignStatus
from domain.broadcast.delivery import Delivery, DeliveryError, DeliveryStatus, Stats
from domain.identity.ids import SessionId
from domain.identity.user import Role
from domain.shared.errors import IllegalTransitionError
from domain.shared.ids import UserId
from tests.support.campaign_model import (
    CRASHED,
    MAY_HAVE_ARRIVED,
    STORED,
    Model,
    Recipient,
    Row,
    Script,
    ScriptedTelegram,
    TickingClock,
)

_T = TypeVar("_T")

CHATS = list(range(101, 109))
"""A small pool: campaigns share recipients, so per-campaign bookkeeping must not mix."""
RULES = SenderRules(send_spacing=0.0)
"""No spacing of calls either: the pacer below never binds, and the machine spends no real time."""


class CampaignMachine(RuleBasedStateMachine):
    campaigns = Bundle("campaigns")

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.database = InMemoryDatabase()
        self.clock = TickingClock()
        self.ids = Uuid7Generator()
        self.audit = Audit(Provenance(), self.clock, self.ids)
        self.policy = AdminOnly()
        self.admin = Actor(UserId(uuid4()), SessionId(uuid4()), Role.ADMIN)
        self.telegram = ScriptedTelegram()
        # A monotonic clock that never moves and limits that never bind: slots are "now"
        # (a microsecond apart), so pacing costs no real time.
        pacer = InMemorySendPacer(lambda: 0.0, SendLimits(per_second=1_000_000, per_chat_interval=0.0))
        self.sender = CampaignSender(self.units, self.telegram, pacer, self.clock, RULES)
        self.model: dict[CampaignId, Model] = {}
        self.texts = itertools.count(1)
        self.starts = itertools.count(1)
        self.blocked: set[int] = set()

    def teardown(self) -> None:
        self.runner.close()

    # -- plumbing ------------------------------------------------------------------------

    def units(self) -> BroadcastUnitOfWork:
        return InMemoryBroadcastUnitOfWork(InMemoryUnitOfWork(self.database))

    def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        return self.runner.get_loop().run_until_complete(coroutine)

    def refused(self, error: type[Exception], coroutine: Coroutine[Any, Any, object]) -> None:
        try:
            self.run(coroutine)
        except error:
            return
        raise AssertionError(f"expected {error.__name__}, but the call succeeded")

    def calls(self) -> Counter[tuple[str, int]]:
        return Counter((c.text, c.chat_id) for c in self.telegram.calls)

    # -- rules ---------------------------------------------------------------------------

    @rule(
        target=campaigns,
        recipients=st.lists(
            st.tuples(st.sampled_from(CHATS), st.sampled_from(Script)), min_size=2, max_size=6, unique_by=lambda t: t[0]
        ),
    )
    def create(self, recipients: list[tuple[int, Script]]) -> CampaignId:
        text = f"Campaign {next(self.texts)}"  # distinct: the fake's calls tell campaigns apart
        for chat, script in recipients:
            self.telegram.script(text, chat, script)
        use_case = CreateCampaign(self.units(), self.policy, self.clock, self.ids)
        command = CreateCampaignCommand(self.admin, name=text, text=text, recipients=[c for c, _ in recipients])
        view = self.run(use_case(command))
        assert view.campaign.status is CampaignStatus.DRAFT
        assert view.stats == Stats(total=len(recipients), pending=len(recipients))
        self.model[view.campaign.id] = Model(text, {chat: Recipient(script) for chat, script in recipients})
        return view.campaign.id

    @rule(campaign_id=campaigns)
    def start(self, campaign_id: CampaignId) -> None:
        model = self.model[campaign_id]
        call = StartCampaign(self.units(), self.policy, self.clock, self.audit)(self.admin, campaign_id)
        if model.deleted:
            self.refused(NotFoundError, call)
        elif model.status in (CampaignStatus.DRAFT, CampaignStatus.RUNNING):
            view = self.run(call)
            if model.status is CampaignStatus.DRAFT:
                model.status, model.started = CampaignStatus.RUNNING, next(self.starts)
            assert view.campaign.status is CampaignStatus.RUNNING
            assert view.stats == model.stats()
        else:
            self.refused(IllegalTransitionError, call)

    def drafts(self) -> list[CampaignId]:
        return [c for c, m in self.model.items() if m.status is CampaignStatus.DRAFT and not m.deleted]

    @precondition(lambda self: bool(self.drafts()))
    @rule(data=st.data())
    def start_a_draft(self, data: st.DataObject) -> None:
        """``start`` again, on a draft: so that campaigns run (and crash) more often."""
        self.start(data.draw(st.sampled_from(self.drafts()), label="draft"))

    @rule(campaign_id=campaigns)
    def cancel(self, campaign_id: CampaignId) -> None:
        model = self.model[campaign_id]
        call = CancelCampaign(self.units(), self.policy, self.clock, self.audit)(self.admin, campaign_id)
        if model.deleted:
            self.refused(NotFoundError, call)
        elif model.status in (CampaignStatus.DRAFT, CampaignStatus.RUNNING):
            view = self.run(call)
            model.status = CampaignStatus.CANCELLED
            for recipient in model.recipients.values():
                if recipient.state is Row.PENDING:
                    recipient.state, recipient.error = Row.FAILED, DeliveryError.CANCELLED
                elif recipient.state is Row.IN_FLIGHT and not model.leased:
                    # A dead sender's claim, and no live sender holds the campaign: ended now.
                    recipient.state, recipient.error = Row.FAILED, DeliveryError.UNKNOWN_OUTCOME
                # Under a lease that has not lapsed it stays ``sending``, until the sweep
                # after the lease (``fail_stranded``, in ``resume``).
            calls = self.calls()
            model.calls_at_cancel = {chat: calls[model.text, chat] for chat in model.recipients}
            assert view.campaign.status is CampaignStatus.CANCELLED
            assert view.stats == model.stats()
        else:
            self.refused(IllegalTransitionError, call)

    @rule(campaign_id=campaigns)
    def delete(self, campaign_id: CampaignId) -> None:
        model = self.model[campaign_id]
        call = DeleteCampaign(self.units(), self.policy)(self.admin, campaign_id)
        if model.deleted:
            self.refused(NotFoundError, call)
        elif model.status is CampaignStatus.RUNNING:
            self.refused(IllegalTransitionError, call)
        else:
            self.run(call)
            model.deleted = True

    def running(self) -> list[tuple[CampaignId, Model]]:
        return [(c, m) for c, m in self.model.items() if m.status is CampaignStatus.RUNNING and not m.deleted]

    @precondition(lambda self: bool(self.running()))
    @rule(data=st.data())
    def crash(self, data: st.DataObject) -> None:
        """A sender takes the lease of the oldest free running campaign, claims some of its
        pending deliveries (each claim committed), and dies with them in flight: each before
        Telegram took the message, or after (the fake saw the call)."""
        free = [(m.started or 0, campaign_id) for campaign_id, m in self.running() if not m.leased]
        now = self.clock.now()

        token = secrets.token_hex(16)

        async def take_lease() -> CampaignId | None:
            async with self.units() as uow:
                taken = await uow.campaigns.claim_sender(now, now + RULES.lease, token)
                await uow.commit()
            return None if taken is None else taken.id

        taken = self.run(take_lease())
        assert taken == (min(free)[1] if free else None), "the lease went to another campaign than the oldest free"
        if taken is None:
            return
        model = self.model[taken]
        model.leased = True
        pending = sorted(chat for chat, r in model.recipients.items() if r.state is Row.PENDING)
        if not pending:
            return
        in_flight = data.draw(st.lists(st.sampled_from(pending), min_size=1, unique=True), label="in flight")
        for chat in in_flight:
            self.run(self._claim(taken, chat, token))
            recipient = model.recipients[chat]
            recipient.state, recipient.attempts, recipient.crashed = Row.IN_FLIGHT, recipient.attempts + 1, True
            if data.draw(st.booleans(), label=f"{chat}: died after Telegram took it"):
                self.telegram.record(chat, model.text, CRASHED)
                recipient.calls += 1

    async def _claim(self, campaign_id: CampaignId, chat: int, token: str) -> None:
        async with self.units() as uow:
            assert await uow.deliveries.claim(campaign_id, chat, token, self.clock.now())
            await uow.commit()

    @precondition(lambda self: bool(self.running()))
    @rule()
    def resume(self) -> None:
        """Past any dead sender's lease, senders drive every running campaign to its end."""
        self.clock.advance(RULES.lease + timedelta(seconds=1))
        self._sweep_stranded()
        running = self.running()

        async def drive_all() -> int:
            driven = 0
            while await self.sender.send_one_campaign(asyncio.Event()):
                driven += 1
                assert driven <= len(running), "a sender took a campaign that should not be running"
            return driven

        assert self.run(asyncio.wait_for(drive_all(), 5)) == len(running)
        for campaign_id, model in running:
            model.status, model.leased = CampaignStatus.COMPLETED, False
            for chat, recipient in model.recipients.items():
                if recipient.state is Row.IN_FLIGHT:
                    recipient.state, recipient.error = Row.FAILED, DeliveryError.UNKNOWN_OUTCOME
                elif recipient.state is Row.PENDING:
                    self._send(chat, recipient)
            self._check_ended(campaign_id, model)

    def _sweep_stranded(self) -> None:
        """Every lease has lapsed: the sweep ends what dead senders left in cancelled campaigns."""
        for model in self.model.values():
            model.leased = False
        self.run(self.sender.fail_stranded())
        for model in self.model.values():
            if model.deleted or model.status is not CampaignStatus.CANCELLED:
                continue
            for recipient in model.recipients.values():
                if recipient.state is Row.IN_FLIGHT:
                    recipient.state, recipient.error = Row.FAILED, DeliveryError.UNKNOWN_OUTCOME

    def _check_ended(self, campaign_id: CampaignId, model: Model) -> None:
        """The rules of a resumed campaign, said outright (the invariants check the rest)."""
        assert self._get(campaign_id).campaign.status is CampaignStatus.COMPLETED
        for chat, row in self._deliveries(campaign_id).items():
            recipient = model.recipients[chat]
            assert row.status in (DeliveryStatus.SENT, DeliveryStatus.FAILED)
            if recipient.crashed:
                assert (row.status, row.error) == (DeliveryStatus.FAILED, DeliveryError.UNKNOWN_OUTCOME)
            elif recipient.script is Script.NOT_SENT:
                assert row.status is DeliveryStatus.SENT and row.attempts >= 2
            elif recipient.script is Script.BLOCKED:
                assert (row.status, row.error) == (DeliveryStatus.FAILED, DeliveryError.BLOCKED)

    def _send(self, chat: int, recipient: Recipient) -> None:
        """What the sender does with a pending delivery, by its script."""
        if recipient.script is Script.NOT_SENT:
            recipient.state, recipient.attempts, recipient.calls = Row.SENT, 2, 2
            return
        recipient.attempts, recipient.calls = 1, 1
        if recipient.script is Script.ACCEPTED:
            recipient.state = Row.SENT
        elif recipient.script is Script.BLOCKED:
            recipient.state, recipient.error = Row.FAILED, DeliveryError.BLOCKED
            self.blocked.add(chat)
        else:
            recipient.state, recipient.error = Row.FAILED, DeliveryError.UNKNOWN_OUTCOME

    # -- reads ---------------------------------------------------------------------------

    def _get(self, campaign_id: CampaignId) -> CampaignView:
        return self.run(GetCampaign(self.units(), self.policy)(self.admin, campaign_id))

    def _deliveries(self, campaign_id: CampaignId) -> dict[int, Delivery]:
        page = self.run(ListDeliveries(self.units(), self.policy)(self.admin, campaign_id, 1, 100))
        assert page.total == len(page.items)
        return {d.chat_id: d for d in page.items}

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def no_chat_ever_got_a_campaign_twice(self) -> None:
        arrived = Counter((c.text, c.chat_id) for c in self.telegram.calls if c.outcome in MAY_HAVE_ARRIVED)
        assert all(n <= 1 for n in arrived.values()), arrived

    @invariant()
    def telegram_saw_exactly_the_calls_the_model_expects(self) -> None:
        expected = Counter(
            {
                (model.text, chat): recipient.calls
                for model in self.model.values()
                for chat, recipient in model.recipients.items()
                if recipient.calls
            }
        )
        assert self.calls() == expected

    @invariant()
    def nothing_reaches_telegram_after_a_cancel(self) -> None:
        calls = self.calls()
        for model in self.model.values():
            for chat, before in model.calls_at_cancel.items():
                assert calls[model.text, chat] == before, (model.text, chat)

    @invariant()
    def each_campaign_and_its_deliveries_are_as_the_model_says(self) -> None:
        for campaign_id, model in self.model.items():
            if model.deleted:
                continue
            view = self._get(campaign_id)
            assert view.campaign.status is model.status
            assert view.stats == model.stats()
            rows = self._deliveries(campaign_id)
            seen = {chat: (d.status, d.error, d.attempts) for chat, d in rows.items()}
            expected = {chat: (STORED[r.state], r.error, r.attempts) for chat, r in model.recipients.items()}
            assert seen == expected, (model.text, seen, expected)
            for chat, row in rows.items():
                recipient = model.recipients[chat]
                if row.error is DeliveryError.UNKNOWN_OUTCOME:
                    assert recipient.crashed or recipient.script is Script.UNKNOWN
                if row.status is DeliveryStatus.SENT:
                    assert row.sent_at is not None

    @invariant()
    def only_chats_that_blocked_the_bot_are_marked_blocked(self) -> None:
        async def blocked() -> set[int]:
            async with self.units() as uow:
                return await uow.chats.blocked(CHATS)

        assert self.run(blocked()) == self.blocked


def test_campaigns_are_sent_at_most_once_whatever_the_admin_and_crashes_do() -> None:
    run_state_machine_as_test(
        CampaignMachine, settings=settings(settings.default, max_examples=50, stateful_step_count=30)
    )
