"""``LogOut``: the current session (or all of them) ends, and its tokens stop working at once."""

from __future__ import annotations

import pytest

from application.errors import UnauthenticatedError
from application.identity.log_out import LogOutCommand
from application.identity.refresh_session import RefreshSessionCommand
from entrypoints.testing.harness import Harness
from tests.support.builders import T0
from tests.unit.application.flows import OTHER_EMAIL, recorded, session_revoked, signed_in, stored_session


async def test_log_out_rejects_the_old_access_token_at_once(app: Harness) -> None:
    pair, actor = await signed_in(app)
    await app.log_out(LogOutCommand(actor=actor))
    with pytest.raises(UnauthenticatedError):
        await app.authenticate(pair.access_token)
    assert stored_session(app, pair).revoked_at == T0


async def test_log_out_rejects_the_sessions_refresh_token(app: Harness) -> None:
    pair, actor = await signed_in(app)
    await app.log_out(LogOutCommand(actor=actor))
    with pytest.raises(UnauthenticatedError):
        await app.refresh(RefreshSessionCommand(refresh_token=pair.refresh_token))


async def test_log_out_of_one_session_keeps_the_others(app: Harness) -> None:
    phone, phone_actor = await signed_in(app)
    laptop, _ = await signed_in(app)
    await app.log_out(LogOutCommand(actor=phone_actor))
    assert await app.authenticate(laptop.access_token)
    await app.refresh(RefreshSessionCommand(refresh_token=laptop.refresh_token))
    assert stored_session(app, phone).revoked_at is not None


async def test_log_out_of_all_sessions_ends_every_session_of_the_user_only(app: Harness) -> None:
    pairs = [await signed_in(app) for _ in range(3)]
    theirs, _ = await signed_in(app, OTHER_EMAIL)
    await app.log_out(LogOutCommand(actor=pairs[0][1], all_sessions=True))
    for pair, _ in pairs:
        with pytest.raises(UnauthenticatedError):
            await app.authenticate(pair.access_token)
        with pytest.raises(UnauthenticatedError):
            await app.refresh(RefreshSessionCommand(refresh_token=pair.refresh_token))
    assert await app.authenticate(theirs.access_token)


async def test_log_out_records_one_session_revoked_per_session(app: Harness) -> None:
    first, actor = await signed_in(app)
    second, _ = await signed_in(app)
    await app.log_out(LogOutCommand(actor=actor, all_sessions=True))
    expected = [session_revoked(T0, actor.user_id, pair.session_id, "logout") for pair in (first, second)]
    assert sorted(await recorded(app, "session.revoked"), key=str) == sorted(expected, key=str)


async def test_log_out_twice_is_harmless_and_records_one_event(app: Harness) -> None:
    pair, actor = await signed_in(app)
    await app.log_out(LogOutCommand(actor=actor))
    await app.log_out(LogOutCommand(actor=actor))
    assert stored_session(app, pair).revoked_at == T0
    assert await recorded(app, "session.revoked") == [session_revoked(T0, actor.user_id, pair.session_id, "logout")]
