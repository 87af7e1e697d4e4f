"""Two admins demoting (or deleting) each other at once never leave zero active admins."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.sql.engine import create_engine
from adapters.sql.tables import users
from application.identity.create_admin import CreateAdminCommand
from application.identity.delete_user import DeleteUser, DeleteUserCommand
from application.identity.log_in import LogInCommand
from application.identity.update_user import UpdateUser, UpdateUserCommand
from application.shared.actor import Actor
from domain.identity.user import LastActiveAdminError, Role
from entrypoints.testing.harness import Harness
from tests.support.builders import a_harness

PASSWORD = "a-sturdy-passphrase-42"
ROUNDS = 5


@pytest.fixture
async def apps(any_database_url: str) -> AsyncIterator[tuple[Harness, Harness]]:
    """Two apps on one database (two pools, as two server processes would have)."""
    async with a_harness(database_url=any_database_url) as first, a_harness(database_url=any_database_url) as second:
        yield first, second


async def admin(app: Harness, email: str) -> Actor:
    await app.create_admin(CreateAdminCommand(email=email, password=PASSWORD, promote_existing=True))
    pair = await app.log_in(LogInCommand(email=email, password=PASSWORD))
    return await app.authenticate(pair.access_token)


async def active_admins(app: Harness) -> int:
    engine = create_engine(app.settings.database_url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(users.select())).mappings().all()
    finally:
        await engine.dispose()
    return sum(1 for row in rows if row["role"] == Role.ADMIN.value and row["is_active"])


async def outcomes(*calls: object) -> list[str]:
    results = await asyncio.gather(*calls, return_exceptions=True)  # type: ignore[call-overload]
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, LastActiveAdminError):
            raise result
    return sorted("refused" if isinstance(r, LastActiveAdminError) else "done" for r in results)


async def demote(app: Harness, actor: Actor, target: Actor) -> object:
    async with app.use(UpdateUser) as update:
        return await update(UpdateUserCommand(actor=actor, user_id=target.user_id, role=Role.USER))


async def remove(app: Harness, actor: Actor, target: Actor) -> None:
    async with app.use(DeleteUser) as delete:
        await delete(DeleteUserCommand(actor=actor, user_id=target.user_id))


async def test_two_admins_demoting_each_other_leave_exactly_one(apps: tuple[Harness, Harness]) -> None:
    first, second = apps
    for _ in range(ROUNDS):
        ada, grace = await admin(first, "ada@example.com"), await admin(second, "grace@example.com")
        assert await outcomes(demote(first, ada, grace), demote(second, grace, ada)) == ["done", "refused"]
        assert await active_admins(first) == 1


async def test_two_admins_deleting_each_other_leave_exactly_one(apps: tuple[Harness, Harness]) -> None:
    first, second = apps
    ada, grace = await admin(first, "ada@example.com"), await admin(second, "grace@example.com")
    assert await outcomes(remove(first, ada, grace), remove(second, grace, ada)) == ["done", "refused"]
    assert await active_admins(first) == 1
