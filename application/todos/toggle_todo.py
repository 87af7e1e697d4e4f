"""Flip a todo between done and not done."""

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
class ToggleTodoCommand:
    actor: Actor
    todo_id: TodoId
    expected_version: ExpectedVersion = None


class ToggleTodo:
    """Flip ``completed`` of a todo the policy lets the actor edit.

    - Atomic: concurrent toggles each apply once (two make no change and two versions).
    - With an expected version, a stale one is refused instead.
    """

    def __init__(self, uow: TodoUnitOfWork, clock: Clock, policy: Policy[Todo]) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy

    async def __call__(self, cmd: ToggleTodoCommand) -> Todo:
        async with self._uow as uow:

            async def toggle() -> Todo:
                todo = await load_todo(uow.todos, self._policy, cmd.actor, Action.EDIT, cmd.todo_id)
                todo.toggle(expected=cmd.expected_version, now=self._clock.now())
                await uow.todos.save(todo)
                return todo

            todo = await compare_and_set(cmd.expected_version, toggle, commit=uow.commit)
        return todo
