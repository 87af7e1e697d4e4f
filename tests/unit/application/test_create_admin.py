"""``CreateAdmin``: ensure an active admin with this e-mail and password; running it again changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from adapters.memory.database import InMemoryDatabase
from adapters.memory.identity import IdentityTables
from adapters.security.argon2_hasher import Argon2PasswordHasher
from application.errors import AlreadyExistsError, UnauthenticatedError
from application.identity.create_admin import CreateAdminCommand, CreateAdminResult
from application.identity.ports import PasswordHasher
from application.identity.refresh_session import RefreshSessionCommand
from domain.identity.user import Role
from domain.shared.errors import InvalidValueError
from entrypoints.testing.harness import Harness, overriding
from tests.support.builders import FAST_ARGON2, T0, a_harness
from tests.support.units import memory_unit
from tests.unit.application.flows import (
    EMAIL,
    NEW_PASSWORD,
    PASSWORD,
    deactivate,
    log_in,
    outbox_names,
    recorded,
    register,
    session_revoked,
    stored_session,
    stored_user,
)


class WatchedHasher(PasswordHasher):
    """A real hasher, noting every call made while a unit of work holds the database,
    and running ``after_verify`` (once) between a check and what follows it."""

    def __init__(self, database: InMemoryDatabase) -> None:
        self.inner = Argon2PasswordHasher(FAST_ARGON2)
        self._database = database
        self.inside_transaction: list[str] = []
        self.after_verify: Callable[[], Awaitable[None]] | None = None

    async def hash(self, password: str) -> str:
        self._note("hash")
        return await self.inner.hash(password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        self._note("verify")
        matches = await self.inner.verify(password_hash, password)
        hook = self.after_verify
        if hook is not None and not self._database.lock.locked():
            self.after_verify = None
            await hook()
        return matches

    def needs_rehash(self, password_hash: str) -> bool:
        return self.inner.needs_rehash(password_hash)

    def _note(self, call: str) -> None:
        if self._database.lock.locked():
            self.inside_transaction.append(call)


@asynccontextmanager
async def watched() -> AsyncIterator[tuple[Harness, WatchedHasher]]:
    """The app with its hasher watched."""
    database = InMemoryDatabase()
    hasher = WatchedHasher(database)
    try:
        async with a_harness(overriding(PasswordHasher, hasher), database=database) as app:
            yield app, hasher
    finally:
        hasher.inner.close()


async def promote(app: Harness, password: str = PASSWORD) -> CreateAdminResult:
    return await app.create_admin(CreateAdminCommand(email=EMAIL, password=password, promote_existing=True))


async def test_create_admin_with_a_new_email_creates_an_active_admin(app: Harness) -> None:
    result = await app.create_admin(CreateAdminCommand(email=" Root@Example.com ", password=PASSWORD))
    assert result.created
    stored = stored_user(app, result.user.id)
    assert (stored.email.value, stored.role, stored.is_active) == ("root@example.com", Role.ADMIN, True)
    user_id = str(result.user.id)
    assert await recorded(app) == [
        ("user.registered", T0, "user", user_id, {"user_id": user_id, "email": "root@example.com", "role": "admin"})
    ]
    pair = await log_in(app, email="root@example.com")
    assert (await app.authenticate(pair.access_token)).is_admin


async def test_create_admin_twice_creates_no_new_events_and_keeps_the_hash(app: Harness) -> None:
    first = await app.create_admin(CreateAdminCommand(email=EMAIL, password=PASSWORD))
    hash_before = stored_user(app, first.user.id).password_hash
    outbox_before = await app.events()

    second = await app.create_admin(CreateAdminCommand(email=EMAIL, password=PASSWORD))

    assert not second.created
    assert second.user.id == first.user.id
    assert len(app.database.tables(IdentityTables).users) == 1
    assert stored_user(app, first.user.id).password_hash == hash_before
    assert await app.events() == outbox_before


async def test_create_admin_promotes_an_existing_user_keeping_a_matching_password(app: Harness) -> None:
    user = await register(app)
    hash_before = stored_user(app, user.id).password_hash
    result = await promote(app)
    assert not result.created
    assert stored_user(app, user.id).role is Role.ADMIN
    assert stored_user(app, user.id).password_hash == hash_before
    assert await outbox_names(app) == ["user.registered", "user.role_changed"]


async def test_create_admin_gives_an_existing_user_the_new_password(app: Harness) -> None:
    await register(app)
    await promote(app, NEW_PASSWORD)
    assert await outbox_names(app) == ["user.registered", "user.role_changed", "user.password_changed"]
    await log_in(app, password=NEW_PASSWORD)
    with pytest.raises(UnauthenticatedError):
        await log_in(app, password=PASSWORD)


async def test_create_admin_reactivates_a_deactivated_account(app: Harness) -> None:
    user = await register(app)
    await deactivate(app, user.id)
    await promote(app)
    assert stored_user(app, user.id).is_active
    await log_in(app)


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [("nope", PASSWORD, "email"), (EMAIL, "short", "password"), (EMAIL, "password123", "password")],
)
async def test_create_admin_refuses_invalid_input_and_stores_nothing(
    app: Harness, email: str, password: str, field: str
) -> None:
    with pytest.raises(InvalidValueError) as caught:
        await app.create_admin(CreateAdminCommand(email=email, password=password))
    assert caught.value.field == field
    assert app.database.tables(IdentityTables).users == {}


async def test_create_admin_refuses_a_weak_password_for_an_existing_account(app: Harness) -> None:
    user = await register(app)
    with pytest.raises(InvalidValueError):
        await promote(app, "qwertyuiop")
    assert stored_user(app, user.id).role is Role.USER


@pytest.mark.parametrize("password", [PASSWORD, NEW_PASSWORD])
async def test_create_admin_refuses_an_existing_account_without_promote_existing(app: Harness, password: str) -> None:
    user = await register(app)
    before = stored_user(app, user.id)
    with pytest.raises(AlreadyExistsError):
        await app.create_admin(CreateAdminCommand(email=EMAIL, password=password))
    after = stored_user(app, user.id)
    assert (after.role, after.is_active, after.password_hash) == (Role.USER, True, before.password_hash)
    assert await outbox_names(app) == ["user.registered"]


async def test_create_admin_refuses_another_password_for_an_admin_without_promote_existing(
    app: Harness,
) -> None:
    await app.create_admin(CreateAdminCommand(email=EMAIL, password=PASSWORD))
    with pytest.raises(AlreadyExistsError):
        await app.create_admin(CreateAdminCommand(email=EMAIL, password=NEW_PASSWORD))
    await log_in(app, password=PASSWORD)


async def test_create_admin_ends_every_live_session_of_a_promoted_account(app: Harness) -> None:
    user = await register(app)
    pairs = [await log_in(app) for _ in range(2)]

    result = await promote(app)

    assert result.sessions_ended == 2
    for pair in pairs:
        assert stored_session(app, pair).revoked_at == T0
        with pytest.raises(UnauthenticatedError):
            await app.authenticate(pair.access_token)
        with pytest.raises(UnauthenticatedError):
            await app.refresh(RefreshSessionCommand(refresh_token=pair.refresh_token))
    expected = [session_revoked(T0, user.id, pair.session_id, "changed_by_create_admin") for pair in pairs]
    assert sorted(await recorded(app, "session.revoked"), key=str) == sorted(expected, key=str)


async def test_create_admin_ends_the_sessions_of_an_admin_given_a_new_password(app: Harness) -> None:
    await app.create_admin(CreateAdminCommand(email=EMAIL, password=PASSWORD))
    pair = await log_in(app)
    await promote(app, NEW_PASSWORD)
    with pytest.raises(UnauthenticatedError):
        await app.authenticate(pair.access_token)


async def test_create_admin_run_again_keeps_the_admins_sessions(app: Harness) -> None:
    await app.create_admin(CreateAdminCommand(email=EMAIL, password=PASSWORD))
    pair = await log_in(app)
    result = await promote(app)
    assert (result.changed, result.sessions_ended) == (False, 0)
    assert (await app.authenticate(pair.access_token)).is_admin


@pytest.mark.parametrize("existing", [None, PASSWORD, NEW_PASSWORD])
async def test_create_admin_never_hashes_inside_a_transaction(existing: str | None) -> None:
    async with watched() as (app, hasher):
        if existing is not None:
            await register(app, password=existing)
        hasher.inside_transaction.clear()  # watch create_admin only
        await app.create_admin(CreateAdminCommand(email=EMAIL, password=PASSWORD, promote_existing=True))
        assert hasher.inside_transaction == []
        await log_in(app)


async def test_create_admin_starts_over_when_the_password_changes_after_it_was_checked() -> None:
    async with watched() as (app, hasher):
        user = await register(app)

        async def change_password_meanwhile() -> None:
            async with memory_unit(app.database) as uow:
                stored = await uow.users.get(user.id)
                assert stored is not None
                stored.change_password(await hasher.inner.hash(NEW_PASSWORD), now=T0)
                await uow.users.save(stored)
                await uow.commit()

        hasher.after_verify = change_password_meanwhile
        await app.create_admin(CreateAdminCommand(email=EMAIL, password=PASSWORD, promote_existing=True))

        assert hasher.after_verify is None
        assert stored_user(app, user.id).role is Role.ADMIN
        await log_in(app, password=PASSWORD)
        with pytest.raises(UnauthenticatedError):
            await log_in(app, password=NEW_PASSWORD)
