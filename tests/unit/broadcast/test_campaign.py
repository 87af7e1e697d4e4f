"""The ``Campaign`` state machine and its value rules, against a model."""

from __future__ import annotations

from uuid import uuid4

import pytest
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain.broadcast.campaign import (
    MAX_RECIPIENTS,
    Audience,
    Campaign,
    CampaignCancelled,
    CampaignCompleted,
    CampaignId,
    CampaignStarted,
    CampaignStatus,
    campaign_name,
    campaign_text,
    chat_ids,
)
from domain.shared.errors import IllegalTransitionError, InvalidValueError
from domain.shared.ids import UserId
from tests.support.builders import T0


def a_campaign() -> Campaign:
    return Campaign.create(
        campaign_id=CampaignId(uuid4()),
        name=" Launch ",
        text="Hello!",
        audience=Audience.EXPLICIT,
        created_by=UserId(uuid4()),
        now=T0,
    )


def test_a_new_campaign_is_a_trimmed_draft_at_version_1() -> None:
    campaign = a_campaign()
    assert (campaign.status, campaign.name, campaign.version, campaign.events) == (
        CampaignStatus.DRAFT,
        "Launch",
        1,
        [],
    )


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "tab\there"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidValueError):
        campaign_name(name)


@pytest.mark.parametrize("text", ["", " \n ", "x" * 4097, "nul\x00"])
def test_bad_texts_are_refused(text: str) -> None:
    with pytest.raises(InvalidValueError):
        campaign_text(text)


def test_chat_ids_are_deduplicated_in_order_and_bounded() -> None:
    assert chat_ids([3, 1, 3, -5, 1]) == [3, 1, -5]
    for bad in ([], [2**63], list(range(MAX_RECIPIENTS + 1))):
        with pytest.raises(InvalidValueError):
            chat_ids(bad)


class CampaignMachine(RuleBasedStateMachine):
    """Any sequence of start, cancel, complete and delete checks: each move is allowed
    exactly when the model says, versions move by one per change, and each change is
    announced once."""

    def __init__(self) -> None:
        super().__init__()
        self.campaign = a_campaign()
        self.status = CampaignStatus.DRAFT
        self.version = 1
        self.announced: list[type] = []

    @rule()
    def start(self) -> None:
        if self.status is CampaignStatus.RUNNING:
            assert self.campaign.start(T0) is False
        elif self.status is CampaignStatus.DRAFT:
            assert self.campaign.start(T0) is True
            self.status, self.version = CampaignStatus.RUNNING, self.version + 1
            self.announced.append(CampaignStarted)
        else:
            with pytest.raises(IllegalTransitionError):
                self.campaign.start(T0)

    @rule()
    def cancel(self) -> None:
        if self.status in (CampaignStatus.DRAFT, CampaignStatus.RUNNING):
            self.campaign.cancel(T0)
            self.status, self.version = CampaignStatus.CANCELLED, self.version + 1
            self.announced.append(CampaignCancelled)
        else:
            with pytest.raises(IllegalTransitionError):
                self.campaign.cancel(T0)

    @rule()
    def complete(self) -> None:
        if self.status is CampaignStatus.RUNNING:
            self.campaign.complete(T0)
            self.status, self.version = CampaignStatus.COMPLETED, self.version + 1
            self.announced.append(CampaignCompleted)
        else:
            with pytest.raises(IllegalTransitionError):
                self.campaign.complete(T0)

    @rule()
    def delete(self) -> None:
        if self.status is CampaignStatus.RUNNING:
            with pytest.raises(IllegalTransitionError):
                self.campaign.check_deletable()
        else:
            self.campaign.check_deletable()

    @invariant()
    def matches_the_model(self) -> None:
        assert (self.campaign.status, self.campaign.version) == (self.status, self.version)
        assert [type(e) for e in self.campaign.events] == self.announced


TestCampaignMachine = CampaignMachine.TestCase


@pytest.mark.parametrize("status", list(CampaignStatus))
def test_only_a_draft_starts_and_only_draft_or_running_cancels(status: CampaignStatus) -> None:
    campaign = a_campaign()
    campaign.status = status
    can_start = status in (CampaignStatus.DRAFT, CampaignStatus.RUNNING)
    if can_start:
        campaign.start(T0)
    else:
        with pytest.raises(IllegalTransitionError):
            campaign.start(T0)
