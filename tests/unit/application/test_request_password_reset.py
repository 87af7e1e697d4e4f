"""``RequestPasswordReset`` and the job that mails the link: same answer for every address,
throttled per client and per address, one link per event however often the job runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from application.errors import RateLimitedError
from application.identity.session_tokens import ClientInfo
from application.shared.email import EmailSender
from domain.shared.errors import InvalidValueError
from entrypoints.testing.harness import Harness, overriding
from tests.support.builders import T0, a_harness, with_settings
from tests.unit.application.flows import EMAIL, OTHER_EMAIL, deactivate, outbox_names, recorded, register
from tests.unit.application.link_flows import (
    RecordingSender,
    digest,
    handle,
    handle_all,
    request_reset,
    stored_tokens,
    token_of,
)

CLIENT = ClientInfo(user_agent="test", ip="198.51.100.7")
OTHER_CLIENT = ClientInfo(user_agent="test", ip="198.51.100.8")


@pytest.fixture
def mail() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
async def app(mail: RecordingSender, settings_changes: dict[str, Any]) -> AsyncIterator[Harness]:
    async with a_harness(overriding(EmailSender, mail), **settings_changes) as harness:
        yield harness


async def test_a_known_address_records_the_request_for_its_account(app: Harness) -> None:
    user = await register(app)

    await request_reset(app, "  ADA@example.com ")

    user_id = str(user.id)
    assert await recorded(app, "password_reset.requested") == [
        ("password_reset.requested", T0, "user", user_id, {"user_id": user_id, "email": EMAIL})
    ]


async def test_an_unknown_or_deactivated_address_records_nothing_and_answers_the_same(app: Harness) -> None:
    user = await register(app)
    await deactivate(app, user.id)
    before = await outbox_names(app)

    await request_reset(app, OTHER_EMAIL)
    await request_reset(app, EMAIL)

    assert await outbox_names(app) == before


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


async def test_a_job_run_again_mails_the_same_link_under_the_same_key_and_stores_nothing_new(
    app: Harness, mail: RecordingSender
) -> None:
    await register(app)
    await request_reset(app)
    [event] = await handle_all(app, "password_reset.requested")
    stored = stored_tokens(app)

    app.clock.advance(stored[next(iter(stored))].expires_at - T0)  # even much later
    await handle(app, event)

    first, again = mail.sent
    assert (again.key, again.text) == (first.key, first.text)
    assert stored_tokens(app) == stored  # nor did the expiry move


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
    assert len(await recorded(app, "password_reset.requested")) == 3


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
