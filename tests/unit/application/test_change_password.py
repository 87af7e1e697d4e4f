"""``ChangePassword``: prove the current password; other sessions end, this one stays."""

from __future__ import annotations

import pytest

from application.errors import RateLimitedError, UnauthenticatedError
from application.identity.change_password import ChangePasswordCommand
from application.identity.ports import PasswordHasher
from application.identity.refresh_session import RefreshSessionCommand
from application.shared.actor import Actor
from domain.shared.errors import InvalidValueError
from entrypoints.testing.harness import Harness
from tests.support.builders import T0, with_settings
from tests.unit.application.flows import (
    EMAIL,
    NEW_PASSWORD,
    PASSWORD,
    WRONG_PASSWORD,
    failures,
    log_in,
    outbox_names,
    recorded,
    session_revoked,
    signed_in,
    stored_session,
    stored_user,
)


async def change(app: Harness, actor: Actor, current: str = PASSWORD, new: str = NEW_PASSWORD) -> None:
    await app.change_password(ChangePasswordCommand(actor=actor, current_password=current, new_password=new))


async def test_change_password_lets_only_the_new_password_log_in(app: Harness) -> None:
    _, actor = await signed_in(app)
    await change(app, actor)
    await log_in(app, password=NEW_PASSWORD)
    with pytest.raises(UnauthenticatedError):
        await log_in(app, password=PASSWORD)


async def test_change_password_revokes_other_sessions_but_keeps_the_current_one(app: Harness) -> None:
    current, actor = await signed_in(app)
    others = [(await signed_in(app))[0] for _ in range(2)]
    await change(app, actor)

    assert await app.authenticate(current.access_token) == actor
    await app.refresh(RefreshSessionCommand(refresh_token=current.refresh_token))
    for other in others:
        with pytest.raises(UnauthenticatedError):
            await app.authenticate(other.access_token)
        with pytest.raises(UnauthenticatedError):
            await app.refresh(RefreshSessionCommand(refresh_token=other.refresh_token))
        assert stored_session(app, other).revoked_at == T0


async def test_change_password_records_password_changed_and_the_revocations(app: Harness) -> None:
    _, actor = await signed_in(app)
    other, _ = await signed_in(app)
    await change(app, actor)
    user_id = str(actor.user_id)
    assert await recorded(app, "user.password_changed") == [
        ("user.password_changed", T0, "user", user_id, {"user_id": user_id})
    ]
    assert await recorded(app, "session.revoked") == [
        session_revoked(T0, actor.user_id, other.session_id, "password_changed")
    ]


async def test_wrong_current_password_is_a_field_error_that_changes_nothing_but_counts(app: Harness) -> None:
    _, actor = await signed_in(app)
    other, _ = await signed_in(app)
    old_hash = stored_user(app, actor.user_id).password_hash
    events_before = await outbox_names(app)

    with pytest.raises(InvalidValueError) as caught:
        await change(app, actor, current=WRONG_PASSWORD)

    assert caught.value.field == "current_password"
    assert stored_user(app, actor.user_id).password_hash == old_hash
    assert await app.authenticate(other.access_token)
    assert await outbox_names(app) == events_before
    assert failures(app) == {EMAIL: [T0]}


@with_settings(lockout_threshold=3)
async def test_wrong_current_passwords_lock_log_in_and_password_change(app: Harness) -> None:
    _, actor = await signed_in(app)
    for _ in range(3):
        with pytest.raises(InvalidValueError):
            await change(app, actor, current=WRONG_PASSWORD)
    with pytest.raises(RateLimitedError):
        await log_in(app)
    with pytest.raises(RateLimitedError):
        await change(app, actor)
    hasher = await app.get(PasswordHasher)
    assert await hasher.verify(stored_user(app, actor.user_id).password_hash, PASSWORD)


@with_settings(lockout_threshold=3)
async def test_failed_log_ins_lock_password_change_too(app: Harness) -> None:
    _, actor = await signed_in(app)
    for _ in range(3):
        with pytest.raises(UnauthenticatedError):
            await log_in(app, email="ADA@example.com", password=WRONG_PASSWORD)
    with pytest.raises(RateLimitedError):
        await change(app, actor)


@pytest.mark.parametrize("new", ["short", "password123", EMAIL, "ADA" + "@EXAMPLE.COM", "x" * 129])
async def test_new_password_breaking_the_policy_is_a_field_error_that_changes_nothing(app: Harness, new: str) -> None:
    _, actor = await signed_in(app)
    other, _ = await signed_in(app)
    old_hash = stored_user(app, actor.user_id).password_hash

    with pytest.raises(InvalidValueError) as caught:
        await change(app, actor, new=new)

    assert caught.value.field == "new_password"
    assert stored_user(app, actor.user_id).password_hash == old_hash
    assert await app.authenticate(other.access_token)
    assert failures(app) == {}
