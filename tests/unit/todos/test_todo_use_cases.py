"""Todo use-cases against the in-memory adapters: ownership, versions, listing."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from adapters.memory.database import InMemoryDatabase
from adapters.memory.todos import TodoTables
from application.errors import NotFoundError, VersionRequiredError
from application.todos.create_todo import CreateTodoCommand
from application.todos.delete_todo import DeleteTodoCommand
from application.todos.list_todos import ListTodosCommand
from application.todos.ports import TodoSort
from application.todos.replace_todo import ReplaceTodoCommand
from application.todos.toggle_todo import ToggleTodoCommand
from application.todos.update_todo import UpdateTodoCommand
from domain.shared.errors import InvalidValueError, VersionMismatchError
from domain.todos.todo import Todo, TodoChanged, TodoId
from tests.support.todos import TodoApp, an_actor
from tests.support.units import memory_unit

ME, THEM = an_actor(), an_actor()


@pytest.fixture
def database() -> InMemoryDatabase:
    return InMemoryDatabase()


@pytest.fixture
def app(database: InMemoryDatabase) -> TodoApp:
    return TodoApp(lambda: memory_unit(database))


async def a_todo(app: TodoApp, title: str = "Buy milk", actor: object = ME) -> Todo:
    return await app.create(CreateTodoCommand(actor=actor, title=title))  # type: ignore[arg-type]


async def test_create_trims_the_title_and_records_an_event(app: TodoApp, database: InMemoryDatabase) -> None:
    todo = await a_todo(app, "  Buy milk  ")
    assert (todo.title.value, todo.version, todo.owner_id) == ("Buy milk", 1, ME.user_id)
    assert [e.change for e in database.events() if isinstance(e, TodoChanged)] == ["created"]


async def test_create_refuses_a_blank_title_and_stores_nothing(app: TodoApp, database: InMemoryDatabase) -> None:
    with pytest.raises(InvalidValueError):
        await a_todo(app, "   ")
    assert database.tables(TodoTables).todos == {} and database.events() == []


async def test_someone_elses_todo_is_not_found_for_every_operation(app: TodoApp) -> None:
    todo = await a_todo(app)
    attempts = [
        app.get(THEM, todo.id),
        app.update(UpdateTodoCommand(actor=THEM, todo_id=todo.id, expected_version=1, title="x")),
        app.replace(ReplaceTodoCommand(actor=THEM, todo_id=todo.id, expected_version=1, title="x")),
        app.toggle(ToggleTodoCommand(actor=THEM, todo_id=todo.id)),
        app.delete(DeleteTodoCommand(actor=THEM, todo_id=todo.id)),
    ]
    for attempt in attempts:
        with pytest.raises(NotFoundError):
            await attempt
    assert (await app.get(ME, todo.id)).version == 1


@pytest.mark.parametrize("use_case", ["update", "replace"])
async def test_edits_without_a_version_are_refused_with_the_current_one(app: TodoApp, use_case: str) -> None:
    todo = await a_todo(app)
    command = (UpdateTodoCommand if use_case == "update" else ReplaceTodoCommand)(
        actor=ME, todo_id=todo.id, expected_version=None, title="x"
    )
    with pytest.raises(VersionRequiredError) as error:
        await getattr(app, use_case)(command)
    assert error.value.current_version == 1


async def test_stale_update_changes_nothing(app: TodoApp, database: InMemoryDatabase) -> None:
    todo = await a_todo(app)
    await app.update(UpdateTodoCommand(actor=ME, todo_id=todo.id, expected_version=1, title="first"))
    events_before = len(database.events())
    with pytest.raises(VersionMismatchError) as error:
        await app.update(UpdateTodoCommand(actor=ME, todo_id=todo.id, expected_version=1, title="second"))
    assert error.value.actual == 2
    stored = await app.get(ME, todo.id)
    assert (stored.title.value, stored.version) == ("first", 2)
    assert len(database.events()) == events_before


async def test_replace_resets_unsent_fields(app: TodoApp) -> None:
    todo = await app.create(CreateTodoCommand(actor=ME, title="t", description="d", due_at=app.clock.now()))
    replaced = await app.replace(ReplaceTodoCommand(actor=ME, todo_id=todo.id, expected_version="*", title="n"))
    assert (replaced.title.value, replaced.description, replaced.due_at, replaced.version) == ("n", "", None, 2)


async def test_toggle_twice_restores_completed_with_two_versions(app: TodoApp) -> None:
    todo = await a_todo(app)
    once = await app.toggle(ToggleTodoCommand(actor=ME, todo_id=todo.id))
    twice = await app.toggle(ToggleTodoCommand(actor=ME, todo_id=todo.id, expected_version=2))
    assert (once.completed, twice.completed, twice.version) == (True, False, 3)


async def test_delete_honours_a_given_version(app: TodoApp) -> None:
    todo = await a_todo(app)
    with pytest.raises(VersionMismatchError):
        await app.delete(DeleteTodoCommand(actor=ME, todo_id=todo.id, expected_version=5))
    await app.delete(DeleteTodoCommand(actor=ME, todo_id=todo.id, expected_version=1))
    with pytest.raises(NotFoundError):
        await app.get(ME, todo.id)


async def test_missing_todo_is_not_found(app: TodoApp) -> None:
    with pytest.raises(NotFoundError):
        await app.get(ME, TodoId(uuid4()))


async def test_list_filters_sorts_and_pages_only_my_todos(app: TodoApp) -> None:
    titles = ["b", "a", "d", "c", "e"]
    for offset, title in enumerate(titles):
        app.clock.advance(timedelta(minutes=1))
        todo = await a_todo(app, title)
        if offset % 2 == 0:
            await app.toggle(ToggleTodoCommand(actor=ME, todo_id=todo.id))
    await a_todo(app, "theirs", THEM)
    newest_first = await app.list(ListTodosCommand(actor=ME))
    assert [t.title.value for t in newest_first.items] == ["e", "c", "d", "a", "b"]
    by_title = await app.list(ListTodosCommand(actor=ME, sort=TodoSort.TITLE, size=2, page=2))
    assert [t.title.value for t in by_title.items] == ["c", "d"]
    assert (by_title.total, by_title.pages) == (5, 3)
    done = await app.list(ListTodosCommand(actor=ME, completed=True, sort=TodoSort.TITLE))
    assert [t.title.value for t in done.items] == ["b", "d", "e"]
    beyond = await app.list(ListTodosCommand(actor=ME, page=9))
    assert (beyond.items, beyond.total) == ([], 5)


@pytest.mark.parametrize(("page", "size"), [(0, 20), (1, 0), (1, 101)])
async def test_list_refuses_out_of_range_paging(app: TodoApp, page: int, size: int) -> None:
    with pytest.raises(InvalidValueError):
        await app.list(ListTodosCommand(actor=ME, page=page, size=size))
