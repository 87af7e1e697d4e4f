"""Delete one of the actor's todos."""

from __future__ import annotations

from dataclasses import dataclass

from application.shared.actor import Actor
from application.shared.ports import Clock
from application.todos.own_todo import change_own
from application.todos.ports import TodoUnitOfWork
from domain.shared.versioning import ExpectedVersion
from domain.todos.todo import Todo, TodoId


@dataclass(frozen=True, slots=True)
class DeleteTodoCommand:
    actor: Actor
    todo_id: TodoId
    expected_version: ExpectedVersion = None


class DeleteTodo:
    """Delete the actor's todo. A version is optional; when given, a stale one is refused."""

    def __init__(self, uow: TodoUnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, cmd: DeleteTodoCommand) -> None:
        def delete(todo: Todo) -> None:
            todo.delete(expected=cmd.expected_version, now=self._clock.now())

        async with self._uow as uow:
            await change_own(uow.todos, cmd.actor, cmd.todo_id, cmd.expected_version, delete, uow.todos.delete)
            await uow.commit()
