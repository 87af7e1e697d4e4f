"""E-mail verification: the link in the welcome e-mail, ``VerifyEmail``, and
``ResendVerification`` with the job that mails a fresh link."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from application.errors import RateLimitedError
from application.identity.links import InvalidLinkError
from application.shared.email import EmailSender
from domain.identity.link_token import LinkPurpose
from entrypoints.testing.harness import Harness, overriding
from tests.support.builders import T0, a_harness, with_settings
from tests.unit.application.flows import EMAIL, OTHER_EMAIL, outbox_names, recorded, register, signed_in, stored_user
from tests.unit.application.link_flows import (
    RecordingSender,
    digest,
    handle,
    handle_all,
    mailed_reset_token,
    resend,
    stored_tokens,
    token_of,
    verify,
)

VERIFICATION_LIFETIME = timedelta(hours=48)


@pytest.fixture
def mail() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
async def app(mail: RecordingSender, settings_changes: dict[str, Any]) -> AsyncIterator[Harness]:
    async with a_harness(overriding(EmailSender, mail), **settings_changes) as harness:
        yield harness


async def welcome_token(app: Harness, mail: RecordingSender) -> str:
    await handle_all(app, "user.registered")
    return token_of(mail.sent[-1])


async def test_the_welcome_email_carries_a_verification_link_valid_48_hours(
    app: Harness, mail: RecordingSender
) -> None:
    user = await register(app)

    [event] = await handle_all(app, "user.registered")

    [message] = mail.sent
    token = token_of(message)
    assert (message.to, message.subject, message.key, message.secret) == (
        EMAIL,
        "Welcome to portside",
        f"{event.event_id}.welcome",
        True,
    )
    assert f"http://127.0.0.1:8000/verify-email?token={token}" in message.text
    assert "within 48 hours" in message.text
    [stored] = stored_tokens(app).values()
    assert (stored.token_hash, stored.purpose, stored.user_id) == (
        digest(token),
        LinkPurpose.EMAIL_VERIFICATION,
        user.id,
    )
    assert stored.expires_at == T0 + VERIFICATION_LIFETIME


async def test_the_welcome_job_run_again_mails_the_same_link(app: Harness, mail: RecordingSender) -> None:
    await register(app)
    [event] = await handle_all(app, "user.registered")
    await handle(app, event)
    first, again = mail.sent
    assert (again.key, again.text) == (first.key, first.text)
    assert len(stored_tokens(app)) == 1


async def test_the_token_verifies_the_address_once(app: Harness, mail: RecordingSender) -> None:
    user = await register(app)
    token = await welcome_token(app, mail)
    app.clock.advance(timedelta(hours=1))

    await verify(app, token)

    verified = stored_user(app, user.id)
    assert (verified.email_verified, verified.updated_at) == (True, T0 + timedelta(hours=1))
    user_id = str(user.id)
    assert await recorded(app, "user.email_verified") == [
        ("user.email_verified", T0 + timedelta(hours=1), "user", user_id, {"user_id": user_id, "email": EMAIL})
    ]
    with pytest.raises(InvalidLinkError):
        await verify(app, token)


async def test_the_token_expires_after_48_hours(app: Harness, mail: RecordingSender) -> None:
    user = await register(app)
    other = await register(app, OTHER_EMAIL)
    await handle_all(app, "user.registered")
    tokens = {message.to: token_of(message) for message in mail.sent}
    ada, grace = tokens[EMAIL], tokens[OTHER_EMAIL]

    app.clock.advance(VERIFICATION_LIFETIME - timedelta(microseconds=1))
    await verify(app, grace)
    app.clock.advance(timedelta(microseconds=1))
    with pytest.raises(InvalidLinkError):
        await verify(app, ada)

    assert not stored_user(app, user.id).email_verified
    assert stored_user(app, other.id).email_verified


async def test_unknown_tokens_and_reset_tokens_verify_nothing(app: Harness, mail: RecordingSender) -> None:
    user = await register(app)
    reset = await mailed_reset_token(app, mail)

    for token in ("x" * 43, reset, ""):
        with pytest.raises(InvalidLinkError):
            await verify(app, token)

    assert not stored_user(app, user.id).email_verified


async def test_resend_mails_a_fresh_link_and_the_older_one_keeps_working(app: Harness, mail: RecordingSender) -> None:
    _, actor = await signed_in(app)
    first = await welcome_token(app, mail)

    await resend(app, actor)
    [event] = await handle_all(app, "email_verification.requested")

    message = mail.sent[-1]
    fresh = token_of(message)
    assert fresh != first
    assert (message.to, message.subject, message.key, message.secret) == (
        EMAIL,
        "Confirm your e-mail address",
        f"{event.event_id}.verify_email",
        True,
    )
    assert event.payload == {"user_id": str(actor.user_id), "email": EMAIL}
    await verify(app, first)
    await verify(app, fresh)  # a second link still works once; the address stays verified
    assert stored_user(app, actor.user_id).email_verified
    assert await outbox_names(app) == [
        "user.registered",
        "session.started",
        "email_verification.requested",
        "user.email_verified",
    ]


async def test_a_verified_address_gets_no_new_link(app: Harness, mail: RecordingSender) -> None:
    _, actor = await signed_in(app)
    await verify(app, await welcome_token(app, mail))
    sent = len(mail.sent)

    await resend(app, actor)

    assert await recorded(app, "email_verification.requested") == []
    assert len(mail.sent) == sent


async def test_no_link_is_mailed_for_an_address_verified_before_the_job_ran(
    app: Harness, mail: RecordingSender
) -> None:
    _, actor = await signed_in(app)
    await resend(app, actor)
    await verify(app, await welcome_token(app, mail))

    await handle_all(app, "email_verification.requested")

    assert [message.subject for message in mail.sent] == ["Welcome to portside"]


async def test_a_welcome_for_an_address_verified_already_carries_no_link(app: Harness, mail: RecordingSender) -> None:
    _, actor = await signed_in(app)
    await resend(app, actor)
    await handle_all(app, "email_verification.requested")
    await verify(app, token_of(mail.sent[-1]))

    await handle_all(app, "user.registered")

    welcome = mail.sent[-1]
    assert (welcome.subject, welcome.secret) == ("Welcome to portside", False)
    assert "token=" not in welcome.text


@with_settings(rate_limits=True)
async def test_resend_is_throttled_per_account(app: Harness) -> None:
    _, ada = await signed_in(app)
    _, grace = await signed_in(app, OTHER_EMAIL)
    for _ in range(3):
        await resend(app, ada)

    with pytest.raises(RateLimitedError) as caught:
        await resend(app, ada)

    assert 1 <= caught.value.retry_after <= 15 * 60
    await resend(app, grace)
    app.clock.advance(timedelta(minutes=15))
    await resend(app, ada)
    assert len(await recorded(app, "email_verification.requested")) == 5


@with_settings(rate_limits=False)
async def test_rate_limits_off_lifts_the_resend_throttle(app: Harness) -> None:
    _, ada = await signed_in(app)
    for _ in range(6):
        await resend(app, ada)
    assert len(await recorded(app, "email_verification.requested")) == 6
