"""One page of the actor's todos."""

from __future__ import annotations

from dataclasses import dataclass

from application.shared.actor import Actor
from application.todos.ports import TodoQuery, TodoSort, TodoUnitOfWork
from domain.shared.pagination import DEFAULT_PAGE_SIZE, Page, PageRequest
from domain.todos.todo import Todo


@dataclass(frozen=True, slots=True)
class ListTodosCommand:
    actor: Actor
    completed: bool | None = None
    sort: TodoSort = TodoSort.CREATED_DESC
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE


class ListTodos:
    """The actor's todos only, optionally filtered by ``completed``, sorted, paginated."""

    def __init__(self, uow: TodoUnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, cmd: ListTodosCommand) -> Page[Todo]:
        query = TodoQuery(completed=cmd.completed, sort=cmd.sort, page=PageRequest(cmd.page, cmd.size))
        async with self._uow as uow:
            return await uow.todos.list(cmd.actor.user_id, query)
