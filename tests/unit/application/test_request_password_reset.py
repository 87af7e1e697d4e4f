"""``RequestPasswordReset`` and the job that mails the link: same answer for every address,
throttled per client and per address, one link per event however often the job runs."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from dishka import Provider, Scope, provide

from adapters.memory.database import InMemoryDatabase
from adapters.memory.identity import IdentityTables
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from application.errors import RateLimitedError
from application.identity.session_tokens import ClientInfo
from application.shared.email import EmailSender
from application.shared.events import Provenance
from application.shared.ports import IdGenerator
from domain.identity.password_reset import PasswordResetRequest
from domain.shared.errors import InvalidValueError
from entrypoints.testing.harness import Harness, overriding
from tests.support.builders import T0, a_harness, with_settings
from tests.unit.application.flows import EMAIL, NEW_PASSWORD, OTHER_EMAIL, deactivate, recorded, register
from tests.unit.application.link_flows import (
    RecordingSender,
    confirm_reset,
    digest,
    handle,
    handle_all,
    request_reset,
    stored_tokens,
    token_of,
)

CLIENT = ClientInfo(user_agent="test", ip="198.51.100.7")
OTHER_CLIENT = ClientInfo(user_agent="test", ip="198.51.100.8")


class CountingUnits(Provider):
    """The app's in-memory transactions, each kept so a test can count their commits."""

    def __init__(self) -> None:
        super().__init__()
        self.units: list[InMemoryUnitOfWork] = []

    @provide(scope=Scope.REQUEST, override=True)
    def transaction(self, database: InMemoryDatabase, provenance: Provenance, ids: IdGenerator) -> InMemoryUnitOfWork:
        unit = InMemoryUnitOfWork(database, provenance=provenance, ids=ids)
        self.units.append(unit)
        return unit


def stored_requests(app: Harness) -> list[PasswordResetRequest]:
    return list(app.database.tables(IdentityTables).password_reset_requests.values())


async def writes_of(app: Harness, units: CountingUnits, email: str) -> tuple[int, list[str], list[str]]:
    """What one reset request for ``email`` committed: how many commits, the identity tables
    it changed, and the events it committed."""
    before, events_before = app.database.tables(IdentityTables), len(await app.events())
    units.units.clear()
    await request_reset(app, email, CLIENT)
    after = app.database.tables(IdentityTables)
    changed = [f.name for f in dataclasses.fields(after) if getattr(after, f.name) != getattr(before, f.name)]
    events = [event.name for event in (await app.events())[events_before:]]
    return sum(unit.commits for unit in units.units), changed, events


@pytest.fixture
def mail() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
async def app(mail: RecordingSender, settings_changes: dict[str, Any]) -> AsyncIterator[Harness]:
    async with a_harness(overriding(EmailSender, mail), **settings_changes) as harness:
        yield harness


async def test_every_address_records_one_request_naming_the_address_and_no_account(app: Harness) -> None:
    await register(app)

    await request_reset(app, "  ADA@example.com ")
    await request_reset(app, "Nobody@Example.com")

    requests = stored_requests(app)
    assert [(r.email.value, r.requested_at) for r in requests] == [(EMAIL, T0), ("nobody@example.com", T0)]
    assert await recorded(app, "password_reset.requested") == [
        ("password_reset.requested", T0, "password_reset_request", str(r.id), {"email": r.email.value})
        for r in requests
    ]


async def test_known_unknown_and_deactivated_addresses_make_the_same_writes_in_one_transaction(
    mail: RecordingSender,
) -> None:
    units = CountingUnits()
    async with a_harness(overriding(EmailSender, mail), units) as app:
        await deactivate(app, (await register(app, OTHER_EMAIL)).id)
        await register(app)
        writes = [await writes_of(app, units, email) for email in (EMAIL, "nobody@example.com", OTHER_EMAIL)]

    assert writes[0] == writes[1] == writes[2] == (1, ["password_reset_requests"], ["password_reset.requested"])


async def test_a_malformed_address_is_a_field_error(app: Harness) -> None:
    with pytest.raises(InvalidValueError) as caught:
        await request_reset(app, "not-an-address")
    assert caught.value.field == "email"


async def test_the_job_mails_a_single_link_whose_token_is_stored_only_as_a_digest(
    app: Harness, mail: RecordingSender
) -> None:
    user = await register(app)
    await request_reset(app)

    [event] = await handle_all(app, "password_reset.requested")

    [message] = mail.sent
    token = token_of(message)
    assert (message.to, message.key, message.secret) == (EMAIL, f"{event.event_id}.password_reset", True)
    assert f"http://127.0.0.1:8000/reset-password?token={token}" in message.text
    assert "within 30 minutes" in message.text
    assert len(token) >= 22  # at least 128 bits in URL-safe base64
    [stored] = stored_tokens(app).values()
    assert stored.token_hash == digest(token)
    assert (stored.user_id, stored.event_id, stored.used_at) == (user.id, event.event_id, None)
    assert stored.expires_at == T0.replace(minute=30)
    assert token not in repr(stored_tokens(app))


async def test_a_job_run_again_while_its_link_is_usable_mails_the_same_link_under_the_same_key(
    app: Harness, mail: RecordingSender
) -> None:
    await register(app)
    await request_reset(app)
    [event] = await handle_all(app, "password_reset.requested")
    stored = stored_tokens(app)

    app.clock.advance(timedelta(minutes=30) - timedelta(microseconds=1))
    await handle(app, event)

    first, again = mail.sent
    assert (again.key, again.text) == (first.key, first.text)
    assert stored_tokens(app) == stored  # nor did the expiry move


async def test_a_job_run_again_once_its_link_expired_mails_nothing(app: Harness, mail: RecordingSender) -> None:
    await register(app)
    await request_reset(app)
    [event] = await handle_all(app, "password_reset.requested")
    stored = stored_tokens(app)

    app.clock.advance(timedelta(hours=1))  # an admin retries the job an hour later
    await handle(app, event)

    assert len(mail.sent) == 1
    assert stored_tokens(app) == stored


async def test_a_job_run_again_once_its_link_was_used_mails_nothing(app: Harness, mail: RecordingSender) -> None:
    await register(app)
    await request_reset(app)
    [event] = await handle_all(app, "password_reset.requested")
    await confirm_reset(app, token_of(mail.sent[0]), NEW_PASSWORD)

    await handle(app, event)

    assert len(mail.sent) == 1


async def test_nothing_is_mailed_or_stored_for_an_address_no_account_has(app: Harness, mail: RecordingSender) -> None:
    await register(app)
    await request_reset(app, "nobody@example.com")

    await handle_all(app, "password_reset.requested")

    assert mail.sent == []
    assert stored_tokens(app) == {}


async def test_two_requests_mail_two_different_links(app: Harness, mail: RecordingSender) -> None:
    await register(app)
    await request_reset(app)
    await request_reset(app)

    await handle_all(app, "password_reset.requested")

    assert len({token_of(message) for message in mail.sent}) == 2
    assert len(stored_tokens(app)) == 2


async def test_nothing_is_mailed_for_an_account_deactivated_before_the_job_ran(
    app: Harness, mail: RecordingSender
) -> None:
    user = await register(app)
    await request_reset(app)
    await deactivate(app, user.id)

    await handle_all(app, "password_reset.requested")

    assert mail.sent == []
    assert stored_tokens(app) == {}


@with_settings(public_url="https://app.example.com/portal")
async def test_the_link_points_at_the_public_url(app: Harness, mail: RecordingSender) -> None:
    await register(app)
    await request_reset(app)
    await handle_all(app, "password_reset.requested")
    [message] = mail.sent
    assert f"https://app.example.com/portal/reset-password?token={token_of(message)}" in message.text


@with_settings(rate_limits=True)
async def test_an_address_is_throttled_whether_or_not_an_account_has_it(app: Harness) -> None:
    await register(app)
    for email in (EMAIL, "nobody@example.com"):
        for n in range(3):
            client = ClientInfo(ip=f"203.0.113.{n}")  # another client each time: the address counts
            await request_reset(app, email, client)
        with pytest.raises(RateLimitedError) as caught:
            await request_reset(app, email, OTHER_CLIENT)
        assert 1 <= caught.value.retry_after <= 15 * 60
    assert len(await recorded(app, "password_reset.requested")) == 6  # three for each address


@with_settings(rate_limits=True)
async def test_a_client_is_throttled_whatever_the_address(app: Harness) -> None:
    for n in range(10):
        await request_reset(app, f"user{n}@example.com", CLIENT)
    with pytest.raises(RateLimitedError):
        await request_reset(app, "user10@example.com", CLIENT)
    await request_reset(app, "user10@example.com", OTHER_CLIENT)


@with_settings(rate_limits=True)
async def test_callers_in_this_process_are_not_throttled(app: Harness) -> None:
    await register(app)
    for _ in range(12):
        await request_reset(app, EMAIL, client=None)
    assert len(await recorded(app, "password_reset.requested")) == 12


@with_settings(rate_limits=False)
async def test_rate_limits_off_lifts_both_throttles(app: Harness) -> None:
    await register(app)
    for _ in range(12):
        await request_reset(app, EMAIL, CLIENT)
    assert len(await recorded(app, "password_reset.requested")) == 12
