"""Reaching a todo through its policy, and the shared body of PUT and PATCH."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, TypedDict

from application.errors import NotFoundError, VersionRequiredError
from application.shared.actor import Actor
from application.shared.authorization import Action, Policy, authorize
from application.shared.ports import Clock
from application.shared.versioned import compare_and_set
from application.todos.ports import TodoRepository, TodoUnitOfWork
from domain.shared.versioning import ExpectedVersion
from domain.todos.todo import Title, Todo, TodoId


class TodoChanges(TypedDict, total=False):
    """Keyword arguments of ``Todo.edit`` other than the version and the time."""

    title: Title | None
    description: str | None
    completed: bool | None
    due_at: datetime | None
    clear_due_at: bool


class TodoEdit(Protocol):
    """What the PUT and PATCH commands share: who edits which todo, at which version."""

    @property
    def actor(self) -> Actor: ...

    @property
    def todo_id(self) -> TodoId: ...

    @property
    def expected_version(self) -> ExpectedVersion: ...


async def load_todo(todos: TodoRepository, policy: Policy[Todo], actor: Actor, action: Action, todo_id: TodoId) -> Todo:
    """The todo, if the policy lets ``actor`` do ``action`` to it.

    Raises:
        NotFoundError: there is no such todo, or the policy hides it from ``actor``.
        ForbiddenError: the policy forbids the action.
    """
    todo = await todos.get(todo_id)
    if todo is None:
        raise NotFoundError("todo", todo_id)
    authorize(policy, actor, action, todo)
    return todo


async def edit_todo(
    uow: TodoUnitOfWork, clock: Clock, policy: Policy[Todo], cmd: TodoEdit, changes: TodoChanges
) -> Todo:
    """Refuse an edit that names no version (telling the current one, to a caller allowed
    to edit), else apply ``changes`` with compare-and-set and commit."""
    async with uow:

        async def attempt() -> Todo:
            todo = await load_todo(uow.todos, policy, cmd.actor, Action.EDIT, cmd.todo_id)
            if cmd.expected_version is None:
                raise VersionRequiredError("todo", todo.version)
            todo.edit(expected=cmd.expected_version, now=clock.now(), **changes)
            await uow.todos.save(todo)
            return todo

        todo = await compare_and_set(cmd.expected_version, attempt, commit=uow.commit)
    return todo
