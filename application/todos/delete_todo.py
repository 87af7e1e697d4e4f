"""Delete one of the actor's todos."""

from __future__ import annotations

from dataclasses import dataclass

from application.shared.actor import Actor
from application.shared.authorization import Action, Policy
from application.shared.ports import Clock
from application.shared.versioned import compare_and_set
from application.todos.access import load_todo
from application.todos.ports import TodoUnitOfWork
from domain.shared.versioning import ExpectedVersion
from domain.todos.todo import Todo, TodoId


@dataclass(frozen=True, slots=True)
class DeleteTodoCommand:
    actor: Actor
    todo_id: TodoId
    expected_version: ExpectedVersion = None


class DeleteTodo:
    """Delete a todo the policy lets the actor delete.

    - A version is optional; when given, a stale one is refused and nothing is deleted.
    """

    def __init__(self, uow: TodoUnitOfWork, clock: Clock, policy: Policy[Todo]) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy

    async def __call__(self, cmd: DeleteTodoCommand) -> None:
        async with self._uow as uow:

            async def delete() -> None:
                todo = await load_todo(uow.todos, self._policy, cmd.actor, Action.DELETE, cmd.todo_id)
                todo.delete(expected=cmd.expected_version, now=self._clock.now())
                await uow.todos.delete(todo)

            await compare_and_set(cmd.expected_version, delete, commit=uow.commit)
