"""The ``User`` aggregate: registration, display names, and the events its changes record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.identity.email import Email
from domain.identity.events import PasswordChanged, UserRegistered, UserRoleChanged
from domain.identity.user import DISPLAY_NAME_MAX, Role, User, display_name_for
from domain.shared.errors import InvalidValueError
from domain.shared.ids import UserId

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)
USER_ID = UserId(UUID(int=7))
EMAIL = Email.parse("ada@example.com")
SPACES = st.text(alphabet=" \t\n", max_size=3)


def a_user(*, role: Role = Role.USER, display_name: str | None = None, email: Email = EMAIL) -> User:
    return User.register(user_id=USER_ID, email=email, display_name=display_name, password_hash="h0", role=role, now=T0)


@pytest.mark.parametrize("role", list(Role))
def test_register_records_one_user_registered_event(role: Role) -> None:
    user = a_user(role=role)
    assert user.events == [UserRegistered(occurred_at=T0, user_id=USER_ID, email="ada@example.com", role=role)]
    assert (user.role, user.is_active, user.created_at, user.updated_at) == (role, True, T0, T0)


@given(local=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=200))
@example(local="a" * DISPLAY_NAME_MAX)
@example(local="b" * (DISPLAY_NAME_MAX + 1))
@example(local="c" * 200)
def test_display_name_defaults_to_the_local_part_cut_to_100(local: str) -> None:
    user = a_user(email=Email.parse(f"{local}@example.com"))
    assert user.display_name == local[:DISPLAY_NAME_MAX]


@given(
    name=st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=DISPLAY_NAME_MAX).filter(
        lambda s: s.strip() == s and s != ""
    ),
    before=SPACES,
    after=SPACES,
)
def test_given_display_name_is_trimmed_and_kept(name: str, before: str, after: str) -> None:
    assert a_user(display_name=before + name + after).display_name == name


@given(blank=SPACES)
def test_blank_display_name_is_refused(blank: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        display_name_for(blank, EMAIL)
    assert caught.value.field == "display_name"


@given(name=st.text(min_size=DISPLAY_NAME_MAX + 1, max_size=300).filter(lambda s: len(s.strip()) > DISPLAY_NAME_MAX))
def test_display_name_longer_than_100_after_trimming_is_refused(name: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        a_user(display_name=name)
    assert caught.value.field == "display_name"


def test_display_name_of_exactly_100_characters_is_accepted() -> None:
    assert a_user(display_name="n" * DISPLAY_NAME_MAX).display_name == "n" * DISPLAY_NAME_MAX


def test_change_password_records_password_changed() -> None:
    user = a_user()
    user.events.clear()
    user.change_password("h1", now=LATER)
    assert (user.password_hash, user.updated_at) == ("h1", LATER)
    assert user.events == [PasswordChanged(occurred_at=LATER, user_id=USER_ID)]


def test_upgrade_hash_records_no_event() -> None:
    user = a_user()
    user.events.clear()
    user.upgrade_hash("h1", now=LATER)
    assert (user.password_hash, user.updated_at, user.events) == ("h1", LATER, [])


def test_promote_records_role_changed_once_and_is_a_no_op_for_the_same_role() -> None:
    user = a_user()
    user.events.clear()
    user.change_role(Role.ADMIN, now=LATER)
    user.change_role(Role.ADMIN, now=LATER + timedelta(minutes=1))
    assert user.role is Role.ADMIN
    assert user.updated_at == LATER
    assert user.events == [UserRoleChanged(occurred_at=LATER, user_id=USER_ID, role=Role.ADMIN)]


def test_activate_reactivates_an_inactive_user_and_leaves_an_active_one_alone() -> None:
    user = a_user()
    user.reactivate(now=LATER)
    assert user.updated_at == T0
    user.is_active = False
    user.reactivate(now=LATER)
    assert (user.is_active, user.updated_at) == (True, LATER)
