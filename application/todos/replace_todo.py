"""Replace a todo's fields (PUT)."""

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
class ReplaceTodoCommand:
    actor: Actor
    todo_id: TodoId
    expected_version: ExpectedVersion
    title: str
    description: str = ""
    completed: bool = False
    due_at: datetime | None = None


class ReplaceTodo:
    """Set every field of the actor's todo at once.

    - Only a caller the policy lets edit the todo (``NotFoundError`` / ``ForbiddenError``).
    - The caller must say which version it replaces (``VersionRequiredError`` otherwise);
      a stale one raises ``VersionMismatchError`` and changes nothing.
    - Success raises the version by exactly one.
    """

    def __init__(self, uow: TodoUnitOfWork, clock: Clock, policy: Policy[Todo]) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy

    async def __call__(self, cmd: ReplaceTodoCommand) -> Todo:
        changes = TodoChanges(
            title=Title.parse(cmd.title),
            description=description(cmd.description),
            completed=cmd.completed,
            due_at=cmd.due_at,
            clear_due_at=cmd.due_at is None,
        )
        return await edit_todo(self._uow, self._clock, self._policy, cmd, changes)
