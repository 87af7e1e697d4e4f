"""Values the domain refuses or normalizes for every adapter and embedder: control
characters, naive or offset datetimes, page numbers past the bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.identity.email import Email, normalize_email
from domain.identity.user import display_name_for
from domain.shared.errors import InvalidValueError
from domain.shared.ids import UserId
from domain.shared.pagination import MAX_PAGE, PageRequest
from domain.todos.todo import Title, Todo, TodoId, description
from tests.support.builders import T0

PLUS_FIVE = timezone(timedelta(hours=5))
CONTROLS = [chr(code) for code in [*range(0x20), 0x7F]]


def a_todo(due_at: datetime | None = None) -> Todo:
    return Todo.create(
        todo_id=TodoId(uuid4()), owner_id=UserId(uuid4()), title=Title("t"), description="", due_at=due_at, now=T0
    )


def test_a_todo_keeps_its_due_date_in_utc() -> None:
    todo = a_todo(datetime(2030, 1, 1, 10, tzinfo=PLUS_FIVE))
    assert todo.due_at == datetime(2030, 1, 1, 5, tzinfo=UTC)
    assert todo.due_at.tzinfo is UTC
    todo.edit(expected=1, now=T0, due_at=datetime(2030, 1, 1, 10, tzinfo=timezone(timedelta(hours=-2))))
    assert todo.due_at == datetime(2030, 1, 1, 12, tzinfo=UTC)
    assert todo.due_at.tzinfo is UTC


def test_a_naive_due_date_is_refused_on_create_and_edit() -> None:
    with pytest.raises(InvalidValueError) as created:
        a_todo(datetime(2030, 1, 1, 10))
    todo = a_todo()
    with pytest.raises(InvalidValueError) as edited:
        todo.edit(expected=1, now=T0, due_at=datetime(2030, 1, 1, 10))
    assert created.value.field == edited.value.field == "due_at"
    assert todo.version == 1


@pytest.mark.parametrize("control", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
def test_titles_display_names_and_emails_refuse_control_characters(control: str) -> None:
    for field, parse in [
        ("title", Title.parse),
        ("display_name", lambda raw: display_name_for(raw, Email.parse("ada@example.com"))),
        ("email", Email.parse),
    ]:
        raw = f"ad{control}a@example.com"
        with pytest.raises(InvalidValueError) as error:
            parse(raw)
        assert error.value.field == field


@pytest.mark.parametrize("text", ["\x00", "oat\x00", "\x00\n"])
def test_a_description_refuses_nul(text: str) -> None:
    with pytest.raises(InvalidValueError) as error:
        description(text)
    assert error.value.field == "description"


def test_a_description_keeps_line_breaks_and_tabs() -> None:
    assert description("oat\r\n\tsoy\x1b") == "oat\r\n\tsoy\x1b"


def test_normalizing_an_email_replaces_nul_so_sql_can_store_the_key() -> None:
    assert normalize_email(" A\x00B@Example.com ") == "a\ufffdb@example.com"
    assert normalize_email("a\x00b@example.com") != normalize_email("ab@example.com")


@given(raw=st.text())
def test_a_normalized_email_never_holds_nul(raw: str) -> None:
    assert "\x00" not in normalize_email(raw)


def test_surrounding_whitespace_is_still_trimmed_not_refused() -> None:
    assert Email.parse("\t ada@example.com\r\n").value == "ada@example.com"
    assert Title.parse("\tBuy milk\n").value == "Buy milk"
    assert display_name_for(" Ada\n", Email.parse("ada@example.com")) == "Ada"


def test_a_page_past_the_bound_is_refused() -> None:
    assert PageRequest(MAX_PAGE, 100).offset == (MAX_PAGE - 1) * 100
    with pytest.raises(InvalidValueError) as error:
        PageRequest(MAX_PAGE + 1)
    assert error.value.field == "page"
