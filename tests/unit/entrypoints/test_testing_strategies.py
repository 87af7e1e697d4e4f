"""The shipped strategies (``entrypoints.testing.strategies``) yield only what the domain accepts."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from application.identity.register_user import RegisterUserCommand
from application.shared.actor import Actor
from application.todos.create_todo import CreateTodoCommand
from domain.identity.email import Email
from domain.identity.ids import SessionId
from domain.identity.password_policy import check_password
from domain.identity.user import Role, display_name_for
from domain.shared.ids import UserId
from domain.todos.todo import Title, description, due_at_in_utc
from entrypoints.testing import strategies

ACTOR = Actor(UserId(uuid4()), SessionId(uuid4()), Role.USER)


@given(data=st.data())
def test_every_spelling_of_a_generated_address_is_one_email(data: st.DataObject) -> None:
    address = data.draw(strategies.emails())
    spelling = data.draw(strategies.email_spellings(address))
    assert Email.parse(spelling) == Email.parse(address) == Email(address.lower())


@given(command=strategies.register_commands())
def test_registrations_pass_the_policies(command: RegisterUserCommand) -> None:
    email = Email.parse(command.email)
    check_password(command.password, email=email.value)
    display_name_for(command.display_name, email)


@given(password=strategies.passwords())
def test_passwords_pass_the_policy_for_another_address(password: str) -> None:
    check_password(password, email="someone.else@example.com")


@given(command=strategies.create_todo_commands(ACTOR))
def test_todo_commands_hold_a_valid_title_description_and_due_date(command: CreateTodoCommand) -> None:
    assert command.actor == ACTOR
    assert Title.parse(command.title).value == command.title.strip()
    assert description(command.description) == command.description
    due = due_at_in_utc(command.due_at)
    assert due is None or (due.tzinfo is UTC and datetime(1999, 12, 31, tzinfo=UTC) < due)


@given(title=strategies.titles("ab ", max_size=3))
def test_titles_from_a_small_alphabet_stay_in_it(title: str) -> None:
    assert set(title) <= set("ab ")
    assert Title.parse(title).value == title.strip()
