"""Change some fields of a todo (PATCH)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.shared.actor import Actor
from application.shared.authorization import Policy
from application.shared.ports import Clock
from application.todos.access import TodoChanges, edit_todo
from application.todos.ports import TodoUnitOfWork
from domain.shared.versioning import ExpectedVersion
from domain.todos.todo import Title, Todo, TodoId, description


@dataclass(frozen=True, slots=True)
class UpdateTodoCommand:
    """``None`` leaves a field as it is; ``clear_due_at`` removes the due date."""

    actor: Actor
    todo_id: TodoId
    expected_version: ExpectedVersion
    title: str | None = None
    description: str | None = None
    completed: bool | None = None
    due_at: datetime | None = None
    clear_due_at: bool = False


class UpdateTodo:
    """Edit the given fields of the actor's todo.

    - Only a caller the policy lets edit the todo (``NotFoundError`` / ``ForbiddenError``).
    - The caller must say which version it edits (``VersionRequiredError`` otherwise); a
      stale one raises ``VersionMismatchError`` and changes nothing.
    - Success raises the version by exactly one, even when no field changes.
    """

    def __init__(self, uow: TodoUnitOfWork, clock: Clock, policy: Policy[Todo]) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy

    async def __call__(self, cmd: UpdateTodoCommand) -> Todo:
        changes = TodoChanges(
            title=None if cmd.title is None else Title.parse(cmd.title),
            description=None if cmd.description is None else description(cmd.description),
            completed=cmd.completed,
            due_at=cmd.due_at,
            clear_due_at=cmd.clear_due_at,
        )
        return await edit_todo(self._uow, self._clock, self._policy, cmd, changes)
