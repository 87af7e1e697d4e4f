"""The account listing, the admins' lock and deletion: one contract, every implementation."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from application.identity.ports import UserQuery
from domain.identity.email import Email
from domain.identity.user import Role, User
from domain.shared.ids import UserId
from domain.shared.pagination import PageRequest
from tests.integration.conftest import UowFactory
from tests.integration.test_identity_repositories import a_session, stored
from tests.support.builders import T0


def a_user(email: str, *, name: str | None = None, role: Role = Role.USER, minute: int = 0) -> User:
    return User.register(
        user_id=UserId(uuid4()),
        email=Email.parse(email),
        display_name=name,
        password_hash="h",
        role=role,
        now=T0 + timedelta(minutes=minute),
    )


async def emails(new_uow: UowFactory, text: str | None, page: PageRequest | None = None) -> tuple[list[str], int]:
    async with new_uow() as uow:
        found = await uow.users.page(UserQuery(text=text, page=page or PageRequest()))
    return [u.email.value for u in found.items], found.total


async def test_accounts_are_listed_newest_first_with_totals(new_uow: UowFactory) -> None:
    for minute, email in enumerate(["a@example.com", "b@example.com", "c@example.com"]):
        await stored(new_uow, a_user(email, minute=minute))
    assert await emails(new_uow, None) == (["c@example.com", "b@example.com", "a@example.com"], 3)
    assert await emails(new_uow, None, PageRequest(2, 2)) == (["a@example.com"], 3)


async def test_search_is_a_case_insensitive_substring_of_email_or_name(new_uow: UowFactory) -> None:
    await stored(new_uow, a_user("ada@example.com", name="Countess Lovelace", minute=1))
    await stored(new_uow, a_user("grace@example.com", name="Admiral", minute=2))
    assert await emails(new_uow, "LOVE") == (["ada@example.com"], 1)
    assert await emails(new_uow, "AdA@") == (["ada@example.com"], 1)
    assert await emails(new_uow, "example") == (["grace@example.com", "ada@example.com"], 2)
    assert await emails(new_uow, "nobody") == ([], 0)


async def test_wildcards_and_the_escape_character_match_themselves(new_uow: UowFactory) -> None:
    await stored(new_uow, a_user("plain@example.com", name="Plain", minute=1))
    await stored(new_uow, a_user("p_1@example.com", name="100% sure", minute=2))
    await stored(new_uow, a_user("slash@example.com", name="a/b \\ c", minute=3))
    assert await emails(new_uow, "_") == (["p_1@example.com"], 1)
    assert await emails(new_uow, "%") == (["p_1@example.com"], 1)
    assert await emails(new_uow, "0% s") == (["p_1@example.com"], 1)
    assert await emails(new_uow, "/") == (["slash@example.com"], 1)
    assert await emails(new_uow, "\\") == (["slash@example.com"], 1)
    assert await emails(new_uow, "p%e") == ([], 0)


async def test_the_active_admins_are_locked_in_id_order(new_uow: UowFactory) -> None:
    admins = [a_user(f"admin{i}@example.com", role=Role.ADMIN) for i in range(3)]
    inactive = a_user("gone@example.com", role=Role.ADMIN)
    inactive.deactivate(now=T0)
    for user in (*admins, inactive, a_user("user@example.com")):
        await stored(new_uow, user)
    async with new_uow() as uow:
        assert await uow.users.lock_active_admins() == sorted(u.id for u in admins)


async def test_deleting_an_account_takes_its_sessions_with_it(new_uow: UowFactory) -> None:
    user, other = a_user("ada@example.com"), a_user("grace@example.com")
    session = a_session(user)
    await stored(new_uow, user, session)
    await stored(new_uow, other, a_session(other, "t1"))
    async with new_uow() as uow:
        await uow.users.delete(user)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.users.get(user.id) is None
        assert await uow.sessions.get(session.id) is None
        assert await uow.sessions.get_by_token_hash("t0") is None
        assert await uow.users.get(other.id) is not None
        assert len(await uow.sessions.list_live(other.id, T0)) == 1
