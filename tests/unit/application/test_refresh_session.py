"""``RefreshSession``: rotation, and reuse detection that revokes the whole session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from application.errors import UnauthenticatedError
from application.identity.log_out import LogOutCommand
from application.identity.ports import TokenIssuer
from application.identity.refresh_session import RefreshSessionCommand
from application.identity.session_tokens import TokenPair
from entrypoints.testing.harness import Harness
from tests.support.builders import T0, a_harness
from tests.unit.application.flows import (
    OTHER_EMAIL,
    deactivate,
    recorded,
    session_revoked,
    signed_in,
    stored_session,
)


async def refresh(app: Harness, token: str) -> TokenPair:
    return await app.refresh(RefreshSessionCommand(refresh_token=token))


async def refused(app: Harness, token: str) -> None:
    with pytest.raises(UnauthenticatedError):
        await refresh(app, token)


async def test_refresh_rotates_the_token_within_the_same_session(app: Harness) -> None:
    pair, actor = await signed_in(app)
    app.clock.advance(timedelta(minutes=20))
    renewed = await refresh(app, pair.refresh_token)
    assert renewed.session_id == pair.session_id
    assert renewed.refresh_token != pair.refresh_token
    session = stored_session(app, renewed)
    assert session.token_hash == (await app.get(TokenIssuer)).hash_refresh_token(renewed.refresh_token)
    assert (session.version, session.last_used_at) == (2, T0 + timedelta(minutes=20))
    assert await app.authenticate(renewed.access_token) == actor


async def test_refresh_chain_keeps_working_with_each_newest_token(app: Harness) -> None:
    pair, _ = await signed_in(app)
    for _ in range(5):
        app.clock.advance(timedelta(hours=1))
        pair = await refresh(app, pair.refresh_token)
    assert stored_session(app, pair).version == 6


async def test_refresh_with_a_rotated_token_revokes_the_session(app: Harness) -> None:
    first, actor = await signed_in(app)
    second = await refresh(app, first.refresh_token)

    await refused(app, first.refresh_token)

    session = stored_session(app, first)
    assert session.revoked_at == T0
    await refused(app, second.refresh_token)
    for access in (first.access_token, second.access_token):
        with pytest.raises(UnauthenticatedError):
            await app.authenticate(access)
    assert await recorded(app, "session.revoked") == [
        session_revoked(T0, actor.user_id, first.session_id, "refresh_token_reuse")
    ]


async def test_reuse_in_one_session_leaves_the_users_other_sessions_alone(app: Harness) -> None:
    stolen, _ = await signed_in(app)
    other, _ = await signed_in(app)
    await refresh(app, stolen.refresh_token)
    await refused(app, stolen.refresh_token)
    assert await app.authenticate(other.access_token)
    await refresh(app, other.refresh_token)


async def test_concurrent_refreshes_with_one_token_let_at_most_one_win_and_revoke_the_session(
    app: Harness,
) -> None:
    pair, _ = await signed_in(app)
    results = await asyncio.gather(*(refresh(app, pair.refresh_token) for _ in range(3)), return_exceptions=True)
    winners = [r for r in results if isinstance(r, TokenPair)]
    assert len(winners) <= 1
    assert all(isinstance(r, UnauthenticatedError) for r in results if not isinstance(r, TokenPair))
    assert stored_session(app, pair).revoked_at is not None
    for winner in winners:
        await refused(app, winner.refresh_token)


async def test_refresh_with_an_unknown_token_changes_nothing(app: Harness) -> None:
    pair, _ = await signed_in(app)
    before, events = dict(app.database.committed), await app.events()
    await refused(app, "not-a-token-we-issued")
    # A commit swaps in new table objects: the same objects mean nothing was committed.
    assert app.database.committed.keys() == before.keys()
    assert all(app.database.committed[kind] is tables for kind, tables in before.items())
    assert await app.events() == events
    await refresh(app, pair.refresh_token)


async def test_refresh_after_log_out_is_refused(app: Harness) -> None:
    pair, actor = await signed_in(app)
    await app.log_out(LogOutCommand(actor=actor))
    await refused(app, pair.refresh_token)


async def test_refresh_for_a_deactivated_user_is_refused(app: Harness) -> None:
    pair, actor = await signed_in(app)
    await deactivate(app, actor.user_id)
    await refused(app, pair.refresh_token)


async def test_refresh_of_another_users_token_never_crosses_sessions(app: Harness) -> None:
    _, me = await signed_in(app)
    theirs, them = await signed_in(app, OTHER_EMAIL)
    renewed = await refresh(app, theirs.refresh_token)
    assert renewed.session_id == theirs.session_id
    assert (await app.authenticate(renewed.access_token)).user_id == them.user_id != me.user_id


IDLE = timedelta(hours=1)
ABSOLUTE = timedelta(hours=3)


@pytest.fixture
async def short_sessions() -> AsyncIterator[Harness]:
    lifetimes = {"refresh_idle_ttl": int(IDLE.total_seconds()), "refresh_absolute_ttl": int(ABSOLUTE.total_seconds())}
    async with a_harness(**lifetimes) as app:
        yield app


async def test_refresh_after_the_idle_lifetime_is_refused(short_sessions: Harness) -> None:
    app = short_sessions
    pair, _ = await signed_in(app)
    app.clock.advance(IDLE)
    await refused(app, pair.refresh_token)
    assert stored_session(app, pair).revoked_at is None  # expired, not a replay


async def test_refresh_slides_the_idle_expiry_but_not_past_the_absolute_one(short_sessions: Harness) -> None:
    app = short_sessions
    pair, _ = await signed_in(app)
    for _ in range(3):
        app.clock.advance(timedelta(minutes=50))
        pair = await refresh(app, pair.refresh_token)
        session = stored_session(app, pair)
        assert session.idle_expires_at == min(app.clock.now() + IDLE, T0 + ABSOLUTE)
    app.clock.advance(timedelta(minutes=50))  # T0 + 3h20: past the absolute lifetime
    await refused(app, pair.refresh_token)


async def test_refresh_token_issued_near_the_absolute_end_stops_there(short_sessions: Harness) -> None:
    app = short_sessions
    pair, _ = await signed_in(app)
    for step in (timedelta(minutes=50), timedelta(minutes=50), timedelta(minutes=50), timedelta(minutes=29)):
        app.clock.advance(step)
        pair = await refresh(app, pair.refresh_token)
    assert stored_session(app, pair).idle_expires_at == T0 + ABSOLUTE
    app.clock.advance(timedelta(minutes=1))
    await refused(app, pair.refresh_token)
