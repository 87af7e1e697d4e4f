"""The Todo aggregate: invariants, versions and events."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.shared.errors import InvalidValueError, VersionMismatchError
from domain.shared.ids import UserId
from domain.todos.todo import DESCRIPTION_MAX, TITLE_MAX, Title, Todo, TodoChanged, TodoId, description
from tests.support.builders import T0


def a_todo(**overrides: object) -> Todo:
    todo = Todo.create(
        todo_id=TodoId(uuid4()), owner_id=UserId(uuid4()), title=Title("t"), description="", due_at=None, now=T0
    )
    for name, value in overrides.items():
        setattr(todo, name, value)
    return todo


@given(st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=300))
def test_title_is_trimmed_and_bounded(raw: str) -> None:
    trimmed = raw.strip()
    if 1 <= len(trimmed) <= TITLE_MAX:
        assert Title.parse(raw).value == trimmed
    else:
        with pytest.raises(InvalidValueError) as error:
            Title.parse(raw)
        assert error.value.field == "title"


def test_description_is_bounded() -> None:
    assert description("x" * DESCRIPTION_MAX) == "x" * DESCRIPTION_MAX
    with pytest.raises(InvalidValueError):
        description("x" * (DESCRIPTION_MAX + 1))


def test_new_todo_is_open_at_version_one_with_a_created_event() -> None:
    todo = a_todo()
    assert (todo.version, todo.completed) == (1, False)
    assert todo.events == [
        TodoChanged(
            occurred_at=T0,
            todo_id=todo.id,
            owner_id=todo.owner_id,
            version=1,
            change="created",
            title=todo.title.value,
            description=todo.description,
            completed=False,
            due_at=todo.due_at,
            created_at=T0,
            updated_at=T0,
        )
    ]


@given(st.lists(st.sampled_from(["edit", "toggle"]), max_size=30))
def test_every_accepted_write_bumps_version_by_exactly_one(writes: list[str]) -> None:
    todo = a_todo()
    for step, write in enumerate(writes, start=1):
        now = T0 + timedelta(minutes=step)
        if write == "edit":
            todo.edit(expected=todo.version, now=now, title=Title(f"t{step}"))
        else:
            todo.toggle(expected=todo.version, now=now)
        assert todo.version == 1 + step
        assert todo.updated_at == now
    assert [e.version for e in todo.events] == list(range(1, len(writes) + 2))


@given(expected=st.integers(min_value=-5, max_value=50))
def test_stale_version_changes_nothing(expected: int) -> None:
    todo = a_todo(version=7)
    before = (todo.title, todo.completed, todo.version, len(todo.events))
    if expected == 7:
        todo.toggle(expected=expected, now=T0)
        assert todo.version == 8
        return
    with pytest.raises(VersionMismatchError) as error:
        todo.toggle(expected=expected, now=T0)
    assert (error.value.expected, error.value.actual) == (expected, 7)
    assert (todo.title, todo.completed, todo.version, len(todo.events)) == before


@pytest.mark.parametrize("expected", [None, "*"])
def test_unsaid_or_any_version_is_accepted(expected: str | None) -> None:
    todo = a_todo(version=3)
    todo.toggle(expected=expected, now=T0)  # type: ignore[arg-type]
    assert (todo.completed, todo.version) == (True, 4)


def test_edit_keeps_unsent_fields_and_can_clear_the_due_date() -> None:
    due = T0 + timedelta(days=1)
    todo = a_todo(description="keep", due_at=due)
    todo.edit(expected=1, now=T0, completed=True)
    assert (todo.title.value, todo.description, todo.completed, todo.due_at) == ("t", "keep", True, due)
    todo.edit(expected=2, now=T0, clear_due_at=True)
    assert todo.due_at is None and todo.completed is True


def test_delete_records_a_deleted_event_without_a_new_version() -> None:
    todo = a_todo()
    todo.delete(expected=1, now=T0)
    assert todo.version == 1
    assert todo.events[-1].change == "deleted"  # type: ignore[attr-defined]
