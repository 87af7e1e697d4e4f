"""``AuthenticateAccessToken`` and ``GetCurrentUser``: tokens count only while the store agrees."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.memory.identity import IdentityTables
from adapters.security.jwt_issuer import JwtSettings, JwtTokenIssuer
from application.errors import UnauthenticatedError
from application.identity.ports import AccessClaims, TokenIssuer
from domain.identity.user import Role
from entrypoints.testing.harness import Harness
from tests.support.builders import T0
from tests.support.units import memory_unit
from tests.unit.application.flows import (
    ACCESS_TTL,
    EMAIL,
    OTHER_EMAIL,
    deactivate,
    log_in,
    signed_in,
)


async def refused(app: Harness, token: str) -> None:
    with pytest.raises(UnauthenticatedError):
        await app.authenticate(token)


async def test_valid_access_token_gives_the_actor_of_its_session(app: Harness) -> None:
    pair, actor = await signed_in(app)
    assert actor.session_id == pair.session_id
    assert actor.role is Role.USER
    assert not actor.is_admin


async def test_access_token_still_counts_just_before_fifteen_minutes(app: Harness) -> None:
    pair, actor = await signed_in(app)
    app.clock.advance(ACCESS_TTL - timedelta(seconds=1))
    assert await app.authenticate(pair.access_token) == actor


async def test_access_token_past_fifteen_minutes_is_refused_though_the_session_lives(app: Harness) -> None:
    pair, _ = await signed_in(app)
    app.clock.advance(ACCESS_TTL + timedelta(minutes=1))
    await refused(app, pair.access_token)
    await log_in(app)  # the session and account are fine; only the token aged out


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
async def test_malformed_token_is_refused(app: Harness, token: str) -> None:
    await signed_in(app)
    await refused(app, token)


async def test_token_signed_with_another_secret_is_refused(app: Harness) -> None:
    _, actor = await signed_in(app)
    forger = JwtTokenIssuer(JwtSettings(secret="another-secret-that-is-long-enough-for-hs256-00"), app.clock)
    forged = forger.issue_access_token(AccessClaims(actor.user_id, actor.session_id, Role.ADMIN))
    await refused(app, forged.token)


async def test_token_whose_subject_does_not_own_the_session_is_refused(app: Harness) -> None:
    _, mine = await signed_in(app)
    _, theirs = await signed_in(app, OTHER_EMAIL)
    crossed = (await app.get(TokenIssuer)).issue_access_token(AccessClaims(theirs.user_id, mine.session_id, Role.USER))
    await refused(app, crossed.token)


async def test_a_token_whose_role_the_store_no_longer_has_is_refused(app: Harness) -> None:
    """Promoted behind the use-cases' back (they end the sessions): neither role is trusted."""
    pair, actor = await signed_in(app)
    async with memory_unit(app.database) as uow:
        user = await uow.users.get(actor.user_id)
        assert user is not None
        user.change_role(Role.ADMIN, now=T0)
        await uow.users.save(user)
        await uow.commit()
    await refused(app, pair.access_token)


async def test_deactivated_user_cannot_authenticate_an_existing_token(app: Harness) -> None:
    pair, actor = await signed_in(app)
    await deactivate(app, actor.user_id)
    await refused(app, pair.access_token)


async def test_get_current_user_returns_the_actors_account(app: Harness) -> None:
    _, actor = await signed_in(app)
    user = await app.current_user(actor)
    assert (user.id, user.email.value, user.role) == (actor.user_id, EMAIL, Role.USER)


async def test_get_current_user_of_a_deleted_account_is_unauthenticated(app: Harness) -> None:
    pair, actor = await signed_in(app)
    del app.database.tables(IdentityTables).users[actor.user_id]  # the account is gone from the store
    with pytest.raises(UnauthenticatedError):
        await app.current_user(actor)
    await refused(app, pair.access_token)
