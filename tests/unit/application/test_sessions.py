"""``ListSessions`` and ``RevokeSession``: a user sees and ends only their own sessions."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from application.errors import NotFoundError, UnauthenticatedError
from application.identity.log_in import LogInCommand
from application.identity.log_out import LogOutCommand
from application.identity.refresh_session import RefreshSessionCommand
from application.identity.revoke_session import RevokeSessionCommand
from application.identity.session_tokens import ClientInfo
from domain.identity.ids import SessionId
from entrypoints.testing.harness import Harness
from tests.support.builders import T0, with_settings
from tests.unit.application.flows import (
    EMAIL,
    OTHER_EMAIL,
    PASSWORD,
    recorded,
    register,
    session_revoked,
    signed_in,
    stored_session,
)


async def test_list_sessions_shows_live_sessions_newest_first_with_the_current_one_marked(app: Harness) -> None:
    await register(app)
    pairs = []
    for agent in ("phone", "laptop", "tablet"):
        pairs.append(await app.log_in(LogInCommand(EMAIL, PASSWORD, ClientInfo(user_agent=agent))))
        app.clock.advance(timedelta(minutes=1))
    actor = await app.authenticate(pairs[1].access_token)

    views = await app.list_sessions(actor)

    assert [v.session.id for v in views] == [p.session_id for p in reversed(pairs)]
    assert [v.session.user_agent for v in views] == ["tablet", "laptop", "phone"]
    assert [v.current for v in views] == [False, True, False]


async def test_list_sessions_leaves_out_revoked_sessions_and_other_users(app: Harness) -> None:
    kept, actor = await signed_in(app)
    _, gone = await signed_in(app)
    await signed_in(app, OTHER_EMAIL)
    await app.log_out(LogOutCommand(actor=gone))
    views = await app.list_sessions(actor)
    assert [v.session.id for v in views] == [kept.session_id]


@with_settings(refresh_idle_ttl=3600)
async def test_list_sessions_leaves_out_expired_sessions(app: Harness) -> None:
    await signed_in(app)
    app.clock.advance(timedelta(hours=1))
    fresh, actor = await signed_in(app)
    views = await app.list_sessions(actor)
    assert [v.session.id for v in views] == [fresh.session_id]


async def test_revoke_session_ends_another_of_ones_own_sessions(app: Harness) -> None:
    current, actor = await signed_in(app)
    other, _ = await signed_in(app)
    await app.revoke_session(RevokeSessionCommand(actor=actor, session_id=other.session_id))
    with pytest.raises(UnauthenticatedError):
        await app.authenticate(other.access_token)
    with pytest.raises(UnauthenticatedError):
        await app.refresh(RefreshSessionCommand(refresh_token=other.refresh_token))
    assert await app.authenticate(current.access_token) == actor
    assert (await recorded(app))[-1] == session_revoked(T0, actor.user_id, other.session_id, "revoked_by_user")


async def test_revoke_session_of_someone_else_is_not_found_and_leaves_it_live(app: Harness) -> None:
    _, actor = await signed_in(app)
    theirs, _ = await signed_in(app, OTHER_EMAIL)
    outbox = await app.events()
    with pytest.raises(NotFoundError):
        await app.revoke_session(RevokeSessionCommand(actor=actor, session_id=theirs.session_id))
    assert stored_session(app, theirs).revoked_at is None
    assert await app.authenticate(theirs.access_token)
    assert await app.events() == outbox


async def test_revoke_session_with_an_unknown_id_is_not_found(app: Harness) -> None:
    _, actor = await signed_in(app)
    with pytest.raises(NotFoundError):
        await app.revoke_session(RevokeSessionCommand(actor=actor, session_id=SessionId(UUID(int=12345))))


async def test_revoke_session_twice_succeeds_with_one_event(app: Harness) -> None:
    _, actor = await signed_in(app)
    other, _ = await signed_in(app)
    first_at = app.clock.now()
    for _ in range(2):
        await app.revoke_session(RevokeSessionCommand(actor=actor, session_id=other.session_id))
        app.clock.advance(timedelta(minutes=1))
    assert stored_session(app, other).revoked_at == first_at
    revoked = session_revoked(first_at, actor.user_id, other.session_id, "revoked_by_user")
    assert await recorded(app, "session.revoked") == [revoked]


async def test_revoke_session_of_the_current_session_logs_the_caller_out(app: Harness) -> None:
    pair, actor = await signed_in(app)
    await app.revoke_session(RevokeSessionCommand(actor=actor, session_id=actor.session_id))
    with pytest.raises(UnauthenticatedError):
        await app.authenticate(pair.access_token)
