"""Flip a todo between done and not done."""

from __future__ import annotations

from dataclasses import dataclass

from application.shared.actor import Actor
from application.shared.ports import Clock
from application.todos.own_todo import change_own
from application.todos.ports import TodoUnitOfWork
from domain.shared.versioning import ExpectedVersion
from domain.todos.todo import Todo, TodoId


@dataclass(frozen=True, slots=True)
class ToggleTodoCommand:
    actor: Actor
    todo_id: TodoId
    expected_version: ExpectedVersion = None


class ToggleTodo:
    """Flip ``completed`` atomically: concurrent toggles each apply once (two make no change
    and two versions). With an expected version, a stale one is refused instead."""

    def __init__(self, uow: TodoUnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, cmd: ToggleTodoCommand) -> Todo:
        def toggle(todo: Todo) -> None:
            todo.toggle(expected=cmd.expected_version, now=self._clock.now())

        async with self._uow as uow:
            todo = await change_own(uow.todos, cmd.actor, cmd.todo_id, cmd.expected_version, toggle)
            await uow.commit()
        return todo
