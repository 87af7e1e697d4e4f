"""Read one of the actor's todos."""

from __future__ import annotations

from application.shared.actor import Actor
from application.shared.authorization import Action, Policy
from application.todos.access import load_todo
from application.todos.ports import TodoUnitOfWork
from domain.todos.todo import Todo, TodoId


class GetTodo:
    """The actor's todo, if the policy lets them read it; else it is not found."""

    def __init__(self, uow: TodoUnitOfWork, policy: Policy[Todo]) -> None:
        self._uow = uow
        self._policy = policy

    async def __call__(self, actor: Actor, todo_id: TodoId) -> Todo:
        async with self._uow as uow:
            return await load_todo(uow.todos, self._policy, actor, Action.READ, todo_id)
