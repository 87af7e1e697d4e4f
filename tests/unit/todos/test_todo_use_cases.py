"""Todo use-cases against the in-memory adapters: ownership, versions, listing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import uuid4

import pytest

from adapters.memory.todos import TodoTables
from application.errors import NotFoundError, VersionRequiredError
from application.shared.actor import Actor
from application.todos.create_todo import CreateTodoCommand
from application.todos.delete_todo import DeleteTodoCommand
from application.todos.list_todos import ListTodosCommand
from application.todos.ports import TodoSort
from application.todos.replace_todo import ReplaceTodoCommand
from application.todos.toggle_todo import ToggleTodoCommand
from application.todos.update_todo import UpdateTodoCommand
from domain.identity.ids import SessionId
from domain.identity.user import Role
from domain.shared.errors import InvalidValueError, VersionMismatchError
from domain.shared.ids import UserId
from domain.todos.todo import Todo, TodoId
from entrypoints.testing.harness import Harness
from tests.support.builders import a_harness


def an_actor() -> Actor:
    """Someone authenticated: the in-memory store needs no account row behind a todo's owner."""
    return Actor(user_id=UserId(uuid4()), session_id=SessionId(uuid4()), role=Role.USER)


ME, THEM = an_actor(), an_actor()


@pytest.fixture
async def app() -> AsyncIterator[Harness]:
    async with a_harness() as harness:
        yield harness


async def a_todo(app: Harness, title: str = "Buy milk", actor: Actor = ME) -> Todo:
    return await app.create_todo(CreateTodoCommand(actor=actor, title=title))


async def test_create_trims_the_title_and_records_an_event(app: Harness) -> None:
    todo = await a_todo(app, "  Buy milk  ")
    assert (todo.title.value, todo.version, todo.owner_id) == ("Buy milk", 1, ME.user_id)
    at = todo.created_at.isoformat()
    payload = {
        "todo_id": str(todo.id),
        "owner_id": str(ME.user_id),
        "version": 1,
        "change": "created",
        "title": "Buy milk",
        "description": "",
        "completed": False,
        "due_at": None,
        "created_at": at,
        "updated_at": at,
    }
    assert [(e.name, e.aggregate_type, e.aggregate_id, e.payload) for e in await app.events()] == [
        ("todo.changed", "todo", str(todo.id), payload)
    ]


async def test_create_refuses_a_blank_title_and_stores_nothing(app: Harness) -> None:
    with pytest.raises(InvalidValueError):
        await a_todo(app, "   ")
    assert app.database.tables(TodoTables).todos == {}
    assert await app.events() == []


async def test_someone_elses_todo_is_not_found_for_every_operation(app: Harness) -> None:
    todo = await a_todo(app)
    attempts = [
        app.get_todo(THEM, todo.id),
        app.update_todo(UpdateTodoCommand(actor=THEM, todo_id=todo.id, expected_version=1, title="x")),
        app.replace_todo(ReplaceTodoCommand(actor=THEM, todo_id=todo.id, expected_version=1, title="x")),
        app.toggle_todo(ToggleTodoCommand(actor=THEM, todo_id=todo.id)),
        app.delete_todo(DeleteTodoCommand(actor=THEM, todo_id=todo.id)),
    ]
    for attempt in attempts:
        with pytest.raises(NotFoundError):
            await attempt
    assert (await app.get_todo(ME, todo.id)).version == 1


@pytest.mark.parametrize("use_case", ["update", "replace"])
async def test_edits_without_a_version_are_refused_with_the_current_one(app: Harness, use_case: str) -> None:
    todo = await a_todo(app)
    command = (UpdateTodoCommand if use_case == "update" else ReplaceTodoCommand)(
        actor=ME, todo_id=todo.id, expected_version=None, title="x"
    )
    with pytest.raises(VersionRequiredError) as error:
        await getattr(app, f"{use_case}_todo")(command)
    assert error.value.current_version == 1


async def test_stale_update_changes_nothing(app: Harness) -> None:
    todo = await a_todo(app)
    await app.update_todo(UpdateTodoCommand(actor=ME, todo_id=todo.id, expected_version=1, title="first"))
    events_before = await app.events()
    with pytest.raises(VersionMismatchError) as error:
        await app.update_todo(UpdateTodoCommand(actor=ME, todo_id=todo.id, expected_version=1, title="second"))
    assert error.value.actual == 2
    stored = await app.get_todo(ME, todo.id)
    assert (stored.title.value, stored.version) == ("first", 2)
    assert await app.events() == events_before


async def test_replace_resets_unsent_fields(app: Harness) -> None:
    todo = await app.create_todo(CreateTodoCommand(actor=ME, title="t", description="d", due_at=app.clock.now()))
    replaced = await app.replace_todo(ReplaceTodoCommand(actor=ME, todo_id=todo.id, expected_version="*", title="n"))
    assert (replaced.title.value, replaced.description, replaced.due_at, replaced.version) == ("n", "", None, 2)


async def test_toggle_twice_restores_completed_with_two_versions(app: Harness) -> None:
    todo = await a_todo(app)
    once = await app.toggle_todo(ToggleTodoCommand(actor=ME, todo_id=todo.id))
    twice = await app.toggle_todo(ToggleTodoCommand(actor=ME, todo_id=todo.id, expected_version=2))
    assert (once.completed, twice.completed, twice.version) == (True, False, 3)


async def test_delete_honours_a_given_version(app: Harness) -> None:
    todo = await a_todo(app)
    with pytest.raises(VersionMismatchError):
        await app.delete_todo(DeleteTodoCommand(actor=ME, todo_id=todo.id, expected_version=5))
    await app.delete_todo(DeleteTodoCommand(actor=ME, todo_id=todo.id, expected_version=1))
    with pytest.raises(NotFoundError):
        await app.get_todo(ME, todo.id)


async def test_missing_todo_is_not_found(app: Harness) -> None:
    with pytest.raises(NotFoundError):
        await app.get_todo(ME, TodoId(uuid4()))


async def test_list_filters_sorts_and_pages_only_my_todos(app: Harness) -> None:
    titles = ["b", "a", "d", "c", "e"]
    for offset, title in enumerate(titles):
        app.clock.advance(timedelta(minutes=1))
        todo = await a_todo(app, title)
        if offset % 2 == 0:
            await app.toggle_todo(ToggleTodoCommand(actor=ME, todo_id=todo.id))
    await a_todo(app, "theirs", THEM)
    newest_first = await app.list_todos(ListTodosCommand(actor=ME))
    assert [t.title.value for t in newest_first.items] == ["e", "c", "d", "a", "b"]
    by_title = await app.list_todos(ListTodosCommand(actor=ME, sort=TodoSort.TITLE, size=2, page=2))
    assert [t.title.value for t in by_title.items] == ["c", "d"]
    assert (by_title.total, by_title.pages) == (5, 3)
    done = await app.list_todos(ListTodosCommand(actor=ME, completed=True, sort=TodoSort.TITLE))
    assert [t.title.value for t in done.items] == ["b", "d", "e"]
    beyond = await app.list_todos(ListTodosCommand(actor=ME, page=9))
    assert (beyond.items, beyond.total) == ([], 5)


@pytest.mark.parametrize(("page", "size"), [(0, 20), (1, 0), (1, 101)])
async def test_list_refuses_out_of_range_paging(app: Harness, page: int, size: int) -> None:
    with pytest.raises(InvalidValueError):
        await app.list_todos(ListTodosCommand(actor=ME, page=page, size=size))
