"""The users use-cases on the in-memory profile: listing, reading, profile and admin edits,
deletion, and the last active admin."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.memory.identity import IdentityTables
from application.errors import ForbiddenError, NotFoundError, UnauthenticatedError
from application.identity.create_admin import CreateAdminCommand
from application.identity.delete_user import DeleteUser, DeleteUserCommand
from application.identity.get_user import GetUser, GetUserCommand
from application.identity.list_users import ListUsers, ListUsersCommand
from application.identity.update_profile import UpdateProfile, UpdateProfileCommand
from application.identity.update_user import UpdateUser, UpdateUserCommand
from application.shared.actor import Actor
from domain.identity.user import LastActiveAdminError, Role
from domain.shared.errors import InvalidValueError
from domain.shared.ids import UserId
from entrypoints.testing.harness import Harness
from tests.unit.application.flows import OTHER_EMAIL, PASSWORD, outbox_names, signed_in, stored_user

ADMIN = "root@example.com"


async def admin(app: Harness, email: str = ADMIN) -> Actor:
    await app.create_admin(CreateAdminCommand(email=email, password=PASSWORD))
    return (await signed_in(app, email))[1]


async def run(app: Harness, kind: Any, command: Any) -> Any:
    async with app.use(kind) as use_case:
        return await use_case(command)


async def test_admins_list_newest_first_and_search_literally(app: Harness) -> None:
    root = await admin(app)
    await signed_in(app, "a_b@example.com")
    await signed_in(app, "axb@example.com")
    page = await run(app, ListUsers, ListUsersCommand(actor=root))
    assert [u.email.value for u in page.items] == ["axb@example.com", "a_b@example.com", ADMIN]
    found = await run(app, ListUsers, ListUsersCommand(actor=root, q="A_B"))
    assert [u.email.value for u in found.items] == ["a_b@example.com"]
    assert (await run(app, ListUsers, ListUsersCommand(actor=root, q="%"))).total == 0


async def test_only_admins_list_accounts(app: Harness) -> None:
    _, user = await signed_in(app)
    with pytest.raises(ForbiddenError):
        await run(app, ListUsers, ListUsersCommand(actor=user))
    with pytest.raises(UnauthenticatedError):
        await run(app, ListUsers, ListUsersCommand(actor=None))


async def test_reading_shows_the_private_view_to_admins_and_oneself_only(app: Harness) -> None:
    root = await admin(app)
    _, ada = await signed_in(app)
    _, grace = await signed_in(app, OTHER_EMAIL)
    assert (await run(app, GetUser, GetUserCommand(actor=grace, user_id=ada.user_id))).private is False
    assert (await run(app, GetUser, GetUserCommand(actor=ada, user_id=ada.user_id))).private is True
    assert (await run(app, GetUser, GetUserCommand(actor=root, user_id=ada.user_id))).private is True
    with pytest.raises(NotFoundError):
        await run(app, GetUser, GetUserCommand(actor=ada, user_id=UserId(root.session_id)))


async def test_profile_update_renames_and_refuses_an_empty_change(app: Harness) -> None:
    _, ada = await signed_in(app)
    user = await run(app, UpdateProfile, UpdateProfileCommand(actor=ada, display_name="  Ada L.  "))
    assert stored_user(app, ada.user_id).display_name == user.display_name == "Ada L."
    assert "user.renamed" in await outbox_names(app)
    with pytest.raises(InvalidValueError):
        await run(app, UpdateProfile, UpdateProfileCommand(actor=ada))
    with pytest.raises(InvalidValueError):
        await run(app, UpdateProfile, UpdateProfileCommand(actor=ada, display_name="   "))


async def test_demotion_ends_the_sessions_of_the_account(app: Harness) -> None:
    root = await admin(app)
    await admin(app, "second@example.com")
    pair, other = await signed_in(app, "second@example.com")
    user = await run(app, UpdateUser, UpdateUserCommand(actor=root, user_id=other.user_id, role=Role.USER))
    assert user.role is Role.USER
    with pytest.raises(UnauthenticatedError):
        await app.authenticate(pair.access_token)
    assert {"user.role_changed", "session.revoked"} <= set(await outbox_names(app))


async def test_deactivation_ends_sessions_and_reactivation_opens_the_account(app: Harness) -> None:
    root = await admin(app)
    pair, ada = await signed_in(app)
    await run(app, UpdateUser, UpdateUserCommand(actor=root, user_id=ada.user_id, is_active=False))
    with pytest.raises(UnauthenticatedError):
        await app.authenticate(pair.access_token)
    await run(app, UpdateUser, UpdateUserCommand(actor=root, user_id=ada.user_id, is_active=True))
    assert stored_user(app, ada.user_id).is_active
    assert {"user.deactivated", "user.reactivated"} <= set(await outbox_names(app))


async def test_a_renaming_by_an_admin_keeps_the_sessions(app: Harness) -> None:
    root = await admin(app)
    pair, ada = await signed_in(app)
    await run(app, UpdateUser, UpdateUserCommand(actor=root, user_id=ada.user_id, display_name="Countess"))
    assert (await app.authenticate(pair.access_token)).user_id == ada.user_id


async def test_non_admins_may_not_administer_accounts(app: Harness) -> None:
    _, ada = await signed_in(app)
    _, grace = await signed_in(app, OTHER_EMAIL)
    for target in (grace.user_id, ada.user_id):
        with pytest.raises(ForbiddenError):
            await run(app, UpdateUser, UpdateUserCommand(actor=ada, user_id=target, role=Role.ADMIN))
    assert stored_user(app, ada.user_id).role is Role.USER


@pytest.mark.parametrize("change", [{"role": Role.USER}, {"is_active": False}])
async def test_the_last_active_admin_cannot_be_demoted_or_deactivated(app: Harness, change: dict[str, Any]) -> None:
    root = await admin(app)
    before = stored_user(app, root.user_id)
    with pytest.raises(LastActiveAdminError):
        await run(app, UpdateUser, UpdateUserCommand(actor=root, user_id=root.user_id, display_name="X", **change))
    after = stored_user(app, root.user_id)
    assert (after.role, after.is_active, after.display_name) == (before.role, before.is_active, before.display_name)


async def test_an_admin_may_step_down_while_another_remains(app: Harness) -> None:
    root = await admin(app)
    await admin(app, "second@example.com")
    await run(app, UpdateUser, UpdateUserCommand(actor=root, user_id=root.user_id, role=Role.USER))
    assert stored_user(app, root.user_id).role is Role.USER


async def test_the_last_active_admin_cannot_be_deleted_but_others_can(app: Harness) -> None:
    root = await admin(app)
    with pytest.raises(LastActiveAdminError):
        await run(app, DeleteUser, DeleteUserCommand(actor=root, user_id=root.user_id))
    pair, ada = await signed_in(app)
    await run(app, DeleteUser, DeleteUserCommand(actor=root, user_id=ada.user_id))
    tables = app.database.tables(IdentityTables)
    assert ada.user_id not in tables.users
    assert all(s.user_id != ada.user_id for s in tables.sessions.values())
    with pytest.raises(UnauthenticatedError):
        await app.authenticate(pair.access_token)
    assert "user.deleted" in await outbox_names(app)


async def test_users_delete_themselves_but_not_others(app: Harness) -> None:
    _, ada = await signed_in(app)
    _, grace = await signed_in(app, OTHER_EMAIL)
    with pytest.raises(ForbiddenError):
        await run(app, DeleteUser, DeleteUserCommand(actor=ada, user_id=grace.user_id))
    await run(app, DeleteUser, DeleteUserCommand(actor=ada, user_id=ada.user_id))
    assert set(app.database.tables(IdentityTables).users) == {grace.user_id}
    with pytest.raises(NotFoundError):
        await run(app, DeleteUser, DeleteUserCommand(actor=grace, user_id=ada.user_id))
