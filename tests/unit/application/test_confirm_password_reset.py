"""``ConfirmPasswordReset``: a mailed token sets a new password once, within 30 minutes, and
ends every session of the account."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from application.errors import UnauthenticatedError
from application.identity.links import InvalidLinkError
from application.identity.refresh_session import RefreshSessionCommand
from application.shared.email import EmailSender
from domain.shared.errors import InvalidValueError
from entrypoints.testing.harness import Harness, overriding
from tests.support.builders import T0, a_harness
from tests.unit.application.flows import (
    EMAIL,
    NEW_PASSWORD,
    OTHER_EMAIL,
    PASSWORD,
    deactivate,
    log_in,
    recorded,
    register,
    session_revoked,
    signed_in,
    stored_user,
)
from tests.unit.application.link_flows import (
    RecordingSender,
    confirm_reset,
    handle_all,
    mailed_reset_token,
    request_reset,
    stored_tokens,
    token_of,
)

RESET_LIFETIME = timedelta(minutes=30)


@pytest.fixture
def mail() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
async def app(mail: RecordingSender, settings_changes: dict[str, Any]) -> AsyncIterator[Harness]:
    async with a_harness(overriding(EmailSender, mail), **settings_changes) as harness:
        yield harness


async def test_the_token_sets_a_new_password_that_alone_logs_in(app: Harness, mail: RecordingSender) -> None:
    await register(app)
    token = await mailed_reset_token(app, mail)

    await confirm_reset(app, token, NEW_PASSWORD)

    await log_in(app, password=NEW_PASSWORD)
    with pytest.raises(UnauthenticatedError):
        await log_in(app, password=PASSWORD)


async def test_every_session_of_the_account_ends_and_only_its_own(app: Harness, mail: RecordingSender) -> None:
    first, actor = await signed_in(app)
    second, _ = await signed_in(app)
    grace, _ = await signed_in(app, OTHER_EMAIL)
    token = await mailed_reset_token(app, mail)

    app.clock.advance(timedelta(minutes=1))
    await confirm_reset(app, token, NEW_PASSWORD)

    for pair in (first, second):
        with pytest.raises(UnauthenticatedError):
            await app.authenticate(pair.access_token)
        with pytest.raises(UnauthenticatedError):
            await app.refresh(RefreshSessionCommand(refresh_token=pair.refresh_token))
    assert (await app.authenticate(grace.access_token)).session_id == grace.session_id
    at = T0 + timedelta(minutes=1)
    user_id = str(actor.user_id)
    assert await recorded(app, "user.password_changed") == [
        ("user.password_changed", at, "user", user_id, {"user_id": user_id})
    ]
    assert sorted(await recorded(app, "session.revoked")) == sorted(
        session_revoked(at, actor.user_id, pair.session_id, "password_reset") for pair in (first, second)
    )
    assert stored_user(app, actor.user_id).updated_at == at


async def test_a_used_token_is_refused_the_second_time(app: Harness, mail: RecordingSender) -> None:
    await register(app)
    token = await mailed_reset_token(app, mail)
    await confirm_reset(app, token, NEW_PASSWORD)

    with pytest.raises(InvalidLinkError):
        await confirm_reset(app, token, "yet-another-passphrase-9")

    await log_in(app, password=NEW_PASSWORD)


async def mailed_later(app: Harness, mail: RecordingSender, delay: timedelta) -> str:
    """Request a reset now; the job runs ``delay`` later (a busy worker). The mailed token."""
    await request_reset(app)
    app.clock.advance(delay)
    await handle_all(app, "password_reset.requested")
    return token_of(mail.sent[-1])


async def test_a_token_works_until_thirty_minutes_after_the_job_mailed_it(app: Harness, mail: RecordingSender) -> None:
    await register(app)
    token = await mailed_later(app, mail, timedelta(minutes=10))

    app.clock.advance(RESET_LIFETIME - timedelta(microseconds=1))
    await confirm_reset(app, token, NEW_PASSWORD)

    await log_in(app, password=NEW_PASSWORD)


async def test_a_token_thirty_minutes_old_is_refused(app: Harness, mail: RecordingSender) -> None:
    await register(app)
    token = await mailed_later(app, mail, timedelta(minutes=10))

    app.clock.advance(RESET_LIFETIME)
    with pytest.raises(InvalidLinkError):
        await confirm_reset(app, token, NEW_PASSWORD)

    await log_in(app, password=PASSWORD)


async def test_an_unknown_token_or_one_for_verification_is_refused(app: Harness, mail: RecordingSender) -> None:
    await register(app)
    await handle_all(app, "user.registered")
    verification = token_of(mail.sent[0])

    for token in ("x" * 43, verification, ""):
        with pytest.raises(InvalidLinkError):
            await confirm_reset(app, token, NEW_PASSWORD)
    await log_in(app)


async def test_a_password_against_the_policy_is_a_field_error_and_spares_the_token(
    app: Harness, mail: RecordingSender
) -> None:
    await register(app)
    token = await mailed_reset_token(app, mail)

    for weak in ("short", "password123", EMAIL):
        with pytest.raises(InvalidValueError) as caught:
            await confirm_reset(app, token, weak)
        assert caught.value.field == "new_password"

    await confirm_reset(app, token, NEW_PASSWORD)
    await log_in(app, password=NEW_PASSWORD)


async def test_using_one_link_retires_the_other_reset_links_of_the_account(app: Harness, mail: RecordingSender) -> None:
    await register(app)
    await register(app, OTHER_EMAIL)
    first, second = await mailed_reset_token(app, mail), await mailed_reset_token(app, mail)
    others = await mailed_reset_token(app, mail, OTHER_EMAIL)

    await confirm_reset(app, second, NEW_PASSWORD)

    with pytest.raises(InvalidLinkError):
        await confirm_reset(app, first, "yet-another-passphrase-9")
    await confirm_reset(app, others, "yet-another-passphrase-9")  # another account's is untouched


async def test_a_deactivated_account_cannot_be_reset(app: Harness, mail: RecordingSender) -> None:
    user = await register(app)
    token = await mailed_reset_token(app, mail)
    await deactivate(app, user.id)

    with pytest.raises(InvalidLinkError):
        await confirm_reset(app, token, NEW_PASSWORD)

    assert [t.used_at for t in stored_tokens(app).values()] == [None]


async def test_of_concurrent_confirmations_with_one_token_exactly_one_succeeds(
    app: Harness, mail: RecordingSender
) -> None:
    await register(app)
    token = await mailed_reset_token(app, mail)
    passwords = [f"concurrent-passphrase-{n}" for n in range(5)]

    outcomes = await asyncio.gather(
        *(confirm_reset(app, token, password) for password in passwords), return_exceptions=True
    )

    winners = [password for password, outcome in zip(passwords, outcomes, strict=True) if outcome is None]
    assert len(winners) == 1
    assert all(isinstance(outcome, InvalidLinkError) for outcome in outcomes if outcome is not None)
    await log_in(app, password=winners[0])
    assert len(await recorded(app, "user.password_changed")) == 1
