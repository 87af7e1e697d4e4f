"""Add a todo to the actor's list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.shared.actor import Actor
from application.shared.ports import Clock, IdGenerator
from application.todos.ports import TodoUnitOfWork
from domain.todos.todo import Title, Todo, TodoId, description


@dataclass(frozen=True, slots=True)
class CreateTodoCommand:
    actor: Actor
    title: str
    description: str = ""
    due_at: datetime | None = None


class CreateTodo:
    """Create a todo owned by the actor: title 1..200 characters after trimming, description
    up to 2000, not completed, version 1."""

    def __init__(self, uow: TodoUnitOfWork, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    async def __call__(self, cmd: CreateTodoCommand) -> Todo:
        todo = Todo.create(
            todo_id=TodoId(self._ids.new_id()),
            owner_id=cmd.actor.user_id,
            title=Title.parse(cmd.title),
            description=description(cmd.description),
            due_at=cmd.due_at,
            now=self._clock.now(),
        )
        async with self._uow as uow:
            await uow.todos.add(todo)
            await uow.commit()
        return todo
