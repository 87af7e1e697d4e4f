"""``InMemoryTodoRepository``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.memory.database import detached
from adapters.memory.unit_of_work import InMemoryRepository, InMemoryUnitOfWork
from adapters.shared.unit_of_work import ContextUnitOfWork, repository
from application.todos.ports import TodoQuery, TodoRepository, TodoSort, TodoUnitOfWork
from domain.shared.errors import VersionMismatchError
from domain.shared.ids import UserId
from domain.shared.pagination import Page
from domain.todos.todo import Todo, TodoId

__all__ = ["InMemoryTodoRepository", "InMemoryTodoUnitOfWork", "TodoTables"]

_EARLIEST = datetime.min.replace(tzinfo=UTC)


def _sort_key(sort: TodoSort) -> Callable[[Todo], tuple[Any, ...]]:
    """The same order as the SQL repository (ties broken by id; due dates NULLS LAST)."""
    field = sort.value.lstrip("-")
    if field == "title":
        return lambda t: (t.title.value, t.id)
    if field == "due_at":
        descending = sort.value.startswith("-")  # under reverse=True the flag flips with it
        return lambda t: ((t.due_at is None) != descending, t.due_at or _EARLIEST, t.id)
    return lambda t: (getattr(t, field), t.id)


@dataclass(slots=True)
class TodoTables:
    todos: dict[TodoId, Todo] = field(default_factory=dict)

    def copy(self) -> TodoTables:
        return TodoTables(todos=dict(self.todos))

    def drop_user(self, user_id: UserId) -> None:
        """As ``ON DELETE CASCADE`` on ``todos.owner_id``."""
        self.todos = {k: t for k, t in self.todos.items() if t.owner_id != user_id}


class InMemoryTodoRepository(InMemoryRepository[TodoTables], TodoRepository):
    def __init__(self, unit: InMemoryUnitOfWork) -> None:
        super().__init__(unit, TodoTables)

    async def add(self, todo: Todo) -> None:
        self._writable.todos[todo.id] = detached(todo)

    async def get(self, todo_id: TodoId) -> Todo | None:
        stored = self._tables.todos.get(todo_id)
        if stored is None:
            return None
        return detached(stored)

    async def save(self, todo: Todo) -> None:
        self._expect(todo.id, todo.version - 1)
        self._writable.todos[todo.id] = detached(todo)

    async def delete(self, todo: Todo) -> None:
        self._expect(todo.id, todo.version)
        del self._writable.todos[todo.id]

    async def list(self, owner_id: UserId, query: TodoQuery) -> Page[Todo]:
        mine = [
            t
            for t in self._tables.todos.values()
            if t.owner_id == owner_id and (query.completed is None or t.completed == query.completed)
        ]
        mine.sort(key=_sort_key(query.sort), reverse=query.sort.value.startswith("-"))
        start = query.page.offset
        return Page(
            items=[detached(t) for t in mine[start : start + query.page.size]], request=query.page, total=len(mine)
        )

    def _expect(self, todo_id: TodoId, version: int) -> None:
        stored = self._tables.todos.get(todo_id)
        if stored is None or stored.version != version:
            raise VersionMismatchError(expected=version, actual=None if stored is None else stored.version)


class InMemoryTodoUnitOfWork(ContextUnitOfWork[InMemoryUnitOfWork], TodoUnitOfWork):
    todos = repository(InMemoryTodoRepository)
