"""Read one of the actor's todos."""

from __future__ import annotations

from application.shared.actor import Actor
from application.todos.own_todo import load_own
from application.todos.ports import TodoUnitOfWork
from domain.todos.todo import Todo, TodoId


class GetTodo:
    """The actor's todo; another user's todo is not found."""

    def __init__(self, uow: TodoUnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, todo_id: TodoId) -> Todo:
        async with self._uow as uow:
            return await load_own(uow.todos, actor, todo_id)
