"""A link job that runs again for the same event (after a crash, or an admin's retry of a dead
letter) mails the link it stored before only while that link can still be used: never a
used or expired one. The welcome e-mail still goes, without its link."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from application.shared.email import EmailSender
from entrypoints.testing.harness import Harness, overriding
from tests.support.builders import a_harness
from tests.unit.application.flows import signed_in
from tests.unit.application.link_flows import RecordingSender, handle, handle_all, resend, stored_tokens, token_of

VERIFICATION_LIFETIME = timedelta(hours=48)


@pytest.fixture
def mail() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
async def app(mail: RecordingSender) -> AsyncIterator[Harness]:
    async with a_harness(overriding(EmailSender, mail)) as harness:
        yield harness


async def test_a_welcome_job_run_again_once_its_link_expired_sends_the_welcome_without_it(
    app: Harness, mail: RecordingSender
) -> None:
    await signed_in(app)
    [event] = await handle_all(app, "user.registered")
    stored = stored_tokens(app)

    app.clock.advance(VERIFICATION_LIFETIME)
    await handle(app, event)

    first, again = mail.sent
    assert "token=" in first.text
    assert (again.subject, again.key, again.secret) == (first.subject, first.key, False)
    assert "token=" not in again.text
    assert stored_tokens(app) == stored


async def test_a_welcome_job_run_again_before_its_link_expired_mails_the_same_link(
    app: Harness, mail: RecordingSender
) -> None:
    await signed_in(app)
    [event] = await handle_all(app, "user.registered")

    app.clock.advance(VERIFICATION_LIFETIME - timedelta(microseconds=1))
    await handle(app, event)

    first, again = mail.sent
    assert (again.key, again.text, token_of(again)) == (first.key, first.text, token_of(first))


async def test_a_verification_job_run_again_once_its_link_expired_mails_nothing(
    app: Harness, mail: RecordingSender
) -> None:
    _, actor = await signed_in(app)
    await resend(app, actor)
    [event] = await handle_all(app, "email_verification.requested")
    sent = len(mail.sent)

    app.clock.advance(VERIFICATION_LIFETIME + timedelta(hours=1))
    await handle(app, event)

    assert len(mail.sent) == sent
