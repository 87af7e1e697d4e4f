"""Loading and changing a todo the actor owns: shared by every write use-case."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypedDict

from application.errors import NotFoundError, VersionRequiredError
from application.shared.actor import Actor
from application.shared.ports import Clock
from application.todos.ports import TodoRepository, TodoUnitOfWork
from domain.shared.errors import VersionMismatchError
from domain.shared.versioning import ExpectedVersion
from domain.todos.todo import Title, Todo, TodoId


class TodoChanges(TypedDict, total=False):
    """Keyword arguments of ``Todo.edit`` other than the version and the time."""

    title: Title | None
    description: str | None
    completed: bool | None
    due_at: datetime | None
    clear_due_at: bool


# Each retry follows a write that won, so a writer that named no version always progresses.
_MAX_ATTEMPTS = 100


async def load_own(todos: TodoRepository, actor: Actor, todo_id: TodoId) -> Todo:
    """The actor's todo; someone else's todo is as missing as one that does not exist."""
    todo = await todos.get(todo_id)
    if todo is None or todo.owner_id != actor.user_id:
        raise NotFoundError("todo", todo_id)
    return todo


async def change_own(
    todos: TodoRepository,
    actor: Actor,
    todo_id: TodoId,
    expected: ExpectedVersion,
    change: Callable[[Todo], None],
    store: Callable[[Todo], Awaitable[None]] | None = None,
) -> Todo:
    """Apply ``change`` to the actor's todo and store it with compare-and-set.

    A writer that named a version gets ``VersionMismatchError`` on any race, exactly as if
    it had read a stale version. One that named none (or ``"*"``) is re-applied to the fresh
    state until it lands, so its change is never lost and never applied twice.
    """
    store = store or todos.save
    for _ in range(_MAX_ATTEMPTS):
        todo = await load_own(todos, actor, todo_id)
        change(todo)
        try:
            await store(todo)
        except VersionMismatchError:
            todo.events.clear()  # this attempt did not happen
            if isinstance(expected, int):
                raise
            continue
        return todo
    raise VersionMismatchError(expected=None, actual=None)


async def edit_own(
    uow: TodoUnitOfWork,
    clock: Clock,
    actor: Actor,
    todo_id: TodoId,
    expected: ExpectedVersion,
    changes: TodoChanges,
) -> Todo:
    """The shared body of PUT and PATCH: refuse an edit that names no version (with the
    current one), else apply ``changes`` with compare-and-set and commit."""
    async with uow:
        if expected is None:
            current = await load_own(uow.todos, actor, todo_id)
            raise VersionRequiredError("todo", current.version)

        def edit(todo: Todo) -> None:
            todo.edit(expected=expected, now=clock.now(), **changes)

        todo = await change_own(uow.todos, actor, todo_id, expected, edit)
        await uow.commit()
    return todo
