"""``LogIn``: a session and its tokens for the right password; the same refusal otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from adapters.memory.identity import IdentityTables
from application.errors import UnauthenticatedError
from application.identity.log_in import LogInCommand
from application.identity.ports import PasswordHasher, TokenIssuer
from application.identity.session_tokens import ClientInfo
from domain.identity.user import Role
from entrypoints.testing.harness import Harness
from tests.support.builders import T0, a_harness
from tests.unit.application.flows import (
    EMAIL,
    PASSWORD,
    WRONG_PASSWORD,
    deactivate,
    failures,
    log_in,
    outbox_names,
    register,
    stored_session,
    stored_user,
)


async def test_log_in_with_the_right_password_opens_a_live_session(app: Harness) -> None:
    user = await register(app)
    pair = await log_in(app)
    session = stored_session(app, pair)
    assert session.user_id == user.id
    assert session.is_live(T0)
    assert pair.expires_in == 15 * 60
    actor = await app.authenticate(pair.access_token)
    assert (actor.user_id, actor.session_id, actor.role) == (user.id, pair.session_id, Role.USER)


async def test_log_in_stores_only_a_hash_of_the_refresh_token(app: Harness) -> None:
    await register(app)
    pair = await log_in(app)
    session = stored_session(app, pair)
    assert session.token_hash == (await app.get(TokenIssuer)).hash_refresh_token(pair.refresh_token)
    assert session.token_hash != pair.refresh_token
    assert pair.refresh_token not in app.database.tables(IdentityTables).refresh_tokens


async def test_log_in_keeps_the_client_on_the_session(app: Harness) -> None:
    await register(app)
    client = ClientInfo(user_agent="curl/8.0", ip="198.51.100.4")
    pair = await app.log_in(LogInCommand(email=EMAIL, password=PASSWORD, client=client))
    session = stored_session(app, pair)
    assert (session.user_agent, session.ip) == ("curl/8.0", "198.51.100.4")


async def test_log_in_accepts_the_email_in_another_spelling(app: Harness) -> None:
    user = await register(app)
    pair = await log_in(app, email="  ADA@example.COM ")
    assert stored_session(app, pair).user_id == user.id


async def test_each_log_in_opens_a_separate_session(app: Harness) -> None:
    await register(app)
    first, second = await log_in(app), await log_in(app)
    assert first.session_id != second.session_id
    assert first.refresh_token != second.refresh_token
    assert len(app.database.tables(IdentityTables).sessions) == 2


@pytest.mark.parametrize(
    ("email", "password", "key"),
    [
        (EMAIL, WRONG_PASSWORD, EMAIL),
        ("nobody@example.com", PASSWORD, "nobody@example.com"),
        (" NoBody@Example.com ", PASSWORD, "nobody@example.com"),
        ("not an email", PASSWORD, "not an email"),
        ("X" * 300 + "@example.com", PASSWORD, "x" * 254),  # no address is longer: the key is cut there
    ],
)
async def test_failed_log_in_raises_unauthenticated_and_commits_the_failure(
    app: Harness, email: str, password: str, key: str
) -> None:
    await register(app)
    with pytest.raises(UnauthenticatedError):
        await log_in(app, email=email, password=password)
    assert failures(app) == {key: [T0]}
    assert app.database.tables(IdentityTables).sessions == {}


async def test_wrong_password_and_unknown_email_give_the_same_error(app: Harness) -> None:
    await register(app)
    with pytest.raises(UnauthenticatedError) as wrong:
        await log_in(app, password=WRONG_PASSWORD)
    with pytest.raises(UnauthenticatedError) as unknown:
        await log_in(app, email="nobody@example.com")
    assert str(wrong.value) == str(unknown.value)


async def test_log_in_of_a_deactivated_user_with_the_right_password_fails_and_counts(app: Harness) -> None:
    user = await register(app)
    await deactivate(app, user.id)
    with pytest.raises(UnauthenticatedError):
        await log_in(app)
    assert failures(app) == {EMAIL: [T0]}
    assert app.database.tables(IdentityTables).sessions == {}


async def test_successful_log_in_clears_earlier_failures(app: Harness) -> None:
    await register(app)
    for _ in range(2):
        with pytest.raises(UnauthenticatedError):
            await log_in(app, password=WRONG_PASSWORD)
    assert len(failures(app)[EMAIL]) == 2
    await log_in(app, email="Ada@Example.com")
    assert EMAIL not in failures(app)


@asynccontextmanager
async def redeployed_with_stronger_hashing(app: Harness) -> AsyncIterator[tuple[Harness, PasswordHasher]]:
    """The same accounts served by a second app configured with stronger argon2 parameters."""
    async with a_harness(database=app.database, argon2_memory_kib=2048, argon2_iterations=2) as redeployed:
        yield redeployed, await redeployed.get(PasswordHasher)


async def test_log_in_rehashes_a_password_hashed_with_other_parameters(app: Harness) -> None:
    user = await register(app)
    old_hash = stored_user(app, user.id).password_hash
    async with redeployed_with_stronger_hashing(app) as (redeployed, stronger):
        assert stronger.needs_rehash(old_hash)

        await log_in(redeployed)

        new_hash = stored_user(app, user.id).password_hash
        assert new_hash != old_hash
        assert not stronger.needs_rehash(new_hash)
        assert await stronger.verify(new_hash, PASSWORD)
    assert await (await app.get(PasswordHasher)).verify(new_hash, PASSWORD)
    assert await outbox_names(app) == ["user.registered", "session.started"]


async def test_log_in_keeps_a_hash_made_with_the_current_parameters(app: Harness) -> None:
    user = await register(app)
    old_hash = stored_user(app, user.id).password_hash
    await log_in(app)
    assert stored_user(app, user.id).password_hash == old_hash


async def test_log_in_with_a_failed_password_does_not_rehash(app: Harness) -> None:
    user = await register(app)
    old_hash = stored_user(app, user.id).password_hash
    async with redeployed_with_stronger_hashing(app) as (redeployed, _):
        with pytest.raises(UnauthenticatedError):
            await log_in(redeployed, password=WRONG_PASSWORD)
    assert stored_user(app, user.id).password_hash == old_hash
