"""``CreateAdmin``: ensure an active admin with this e-mail and password; running it again changes nothing."""

from __future__ import annotations

import pytest

from application.errors import UnauthenticatedError
from application.identity.create_admin import CreateAdminCommand
from domain.identity.events import UserRegistered
from domain.identity.user import Role
from domain.shared.errors import InvalidValueError
from tests.support.builders import T0, IdentityApp
from tests.unit.application.flows import (
    EMAIL,
    NEW_PASSWORD,
    PASSWORD,
    deactivate,
    log_in,
    outbox_names,
    register,
    stored_user,
)


async def test_create_admin_with_a_new_email_creates_an_active_admin(app: IdentityApp) -> None:
    result = await app.create_admin(CreateAdminCommand(email=" Root@Example.com ", password=PASSWORD))
    assert result.created
    stored = stored_user(app, result.user.id)
    assert (stored.email.value, stored.role, stored.is_active) == ("root@example.com", Role.ADMIN, True)
    assert app.database.committed.outbox == [
        UserRegistered(occurred_at=T0, user_id=result.user.id, email="root@example.com", role=Role.ADMIN)
    ]
    pair = await log_in(app, email="root@example.com")
    assert (await app.authenticate(pair.access_token)).is_admin


async def test_create_admin_twice_creates_no_new_events_and_keeps_the_hash(app: IdentityApp) -> None:
    first = await app.create_admin(CreateAdminCommand(email=EMAIL, password=PASSWORD))
    hash_before = stored_user(app, first.user.id).password_hash
    outbox_before = list(app.database.committed.outbox)

    second = await app.create_admin(CreateAdminCommand(email=EMAIL, password=PASSWORD))

    assert not second.created
    assert second.user.id == first.user.id
    assert len(app.database.committed.users) == 1
    assert stored_user(app, first.user.id).password_hash == hash_before
    assert app.database.committed.outbox == outbox_before


async def test_create_admin_promotes_an_existing_user_keeping_a_matching_password(app: IdentityApp) -> None:
    user = await register(app)
    hash_before = stored_user(app, user.id).password_hash
    result = await app.create_admin(CreateAdminCommand(email=EMAIL, password=PASSWORD))
    assert not result.created
    assert stored_user(app, user.id).role is Role.ADMIN
    assert stored_user(app, user.id).password_hash == hash_before
    assert outbox_names(app) == ["UserRegistered", "UserRoleChanged"]


async def test_create_admin_gives_an_existing_user_the_new_password(app: IdentityApp) -> None:
    await register(app)
    await app.create_admin(CreateAdminCommand(email=EMAIL, password=NEW_PASSWORD))
    assert outbox_names(app) == ["UserRegistered", "UserRoleChanged", "PasswordChanged"]
    await log_in(app, password=NEW_PASSWORD)
    with pytest.raises(UnauthenticatedError):
        await log_in(app, password=PASSWORD)


async def test_create_admin_reactivates_a_deactivated_account(app: IdentityApp) -> None:
    user = await register(app)
    await deactivate(app, user.id)
    await app.create_admin(CreateAdminCommand(email=EMAIL, password=PASSWORD))
    assert stored_user(app, user.id).is_active
    await log_in(app)


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [("nope", PASSWORD, "email"), (EMAIL, "short", "password"), (EMAIL, "password123", "password")],
)
async def test_create_admin_refuses_invalid_input_and_stores_nothing(
    app: IdentityApp, email: str, password: str, field: str
) -> None:
    with pytest.raises(InvalidValueError) as caught:
        await app.create_admin(CreateAdminCommand(email=email, password=password))
    assert caught.value.field == field
    assert app.database.committed.users == {}


async def test_create_admin_refuses_a_weak_password_for_an_existing_account(app: IdentityApp) -> None:
    user = await register(app)
    with pytest.raises(InvalidValueError):
        await app.create_admin(CreateAdminCommand(email=EMAIL, password="qwertyuiop"))
    assert stored_user(app, user.id).role is Role.USER
