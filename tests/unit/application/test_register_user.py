"""``RegisterUser``: a new account with the ``user`` role, or a refusal that stores nothing."""

from __future__ import annotations

import pytest

from adapters.memory.identity import IdentityTables
from application.errors import AlreadyExistsError
from application.identity.ports import PasswordHasher
from application.identity.register_user import RegisterUserCommand
from domain.identity.user import Role
from domain.shared.errors import InvalidValueError
from entrypoints.testing.harness import Harness
from tests.support.builders import T0
from tests.unit.application.flows import EMAIL, PASSWORD, outbox_names, recorded, register, stored_user


async def test_register_stores_an_active_user_with_a_normalized_email(app: Harness) -> None:
    user = await app.register(RegisterUserCommand(email="  Ada@Example.COM ", password=PASSWORD))
    stored = stored_user(app, user.id)
    assert stored.email.value == EMAIL
    assert (stored.role, stored.is_active, stored.created_at) == (Role.USER, True, T0)
    assert stored.display_name == "ada"


async def test_register_keeps_only_an_argon2id_hash_of_the_password(app: Harness) -> None:
    user = await register(app)
    stored = stored_user(app, user.id)
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash
    assert await (await app.get(PasswordHasher)).verify(stored.password_hash, PASSWORD)


async def test_register_uses_the_given_display_name_trimmed(app: Harness) -> None:
    user = await app.register(RegisterUserCommand(email=EMAIL, password=PASSWORD, display_name="  Ada L. "))
    assert stored_user(app, user.id).display_name == "Ada L."


async def test_register_records_user_registered(app: Harness) -> None:
    user = await register(app)
    user_id = str(user.id)
    assert await recorded(app) == [
        ("user.registered", T0, "user", user_id, {"user_id": user_id, "email": EMAIL, "role": "user"})
    ]


@pytest.mark.parametrize("spelling", [EMAIL, "ADA@example.com", "  ada@EXAMPLE.com\t"])
async def test_register_with_a_taken_email_in_any_spelling_raises_already_exists(app: Harness, spelling: str) -> None:
    await register(app)
    with pytest.raises(AlreadyExistsError) as caught:
        await app.register(RegisterUserCommand(email=spelling, password="yet-another-passphrase-9"))
    assert caught.value.field == "email"
    assert len(app.database.tables(IdentityTables).users) == 1
    assert await outbox_names(app) == ["user.registered"]


@pytest.mark.parametrize(
    ("email", "password", "display_name", "field"),
    [
        ("not-an-email", PASSWORD, None, "email"),
        (EMAIL, "short", None, "password"),
        (EMAIL, "password123", None, "password"),
        (EMAIL, EMAIL.upper(), None, "password"),
        (EMAIL, "x" * 129, None, "password"),
        (EMAIL, PASSWORD, "   ", "display_name"),
        (EMAIL, PASSWORD, "n" * 101, "display_name"),
    ],
)
async def test_register_refuses_invalid_input_and_stores_nothing(
    app: Harness, email: str, password: str, display_name: str | None, field: str
) -> None:
    with pytest.raises(InvalidValueError) as caught:
        await app.register(RegisterUserCommand(email=email, password=password, display_name=display_name))
    assert caught.value.field == field
    assert app.database.tables(IdentityTables).users == {}
    assert await app.events() == []
