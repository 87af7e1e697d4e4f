"""The todos context: its use-cases, and its unit of work on either storage."""

from __future__ import annotations

from typing import Any

from dishka import Provider, Scope, provide, provide_all

from adapters.memory.todos import InMemoryTodoUnitOfWork
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.sql.todos import SqlTodoUnitOfWork
from adapters.sql.unit_of_work import SqlUnitOfWork
from application.shared.authorization import Policy
from application.todos.create_todo import CreateTodo
from application.todos.delete_todo import DeleteTodo
from application.todos.get_todo import GetTodo
from application.todos.list_todos import ListTodos
from application.todos.policy import TodoPolicy
from application.todos.ports import TodoUnitOfWork
from application.todos.replace_todo import ReplaceTodo
from application.todos.toggle_todo import ToggleTodo
from application.todos.update_todo import UpdateTodo
from domain.todos.todo import Todo
from entrypoints.providers.storage import Storage

__all__ = ["todo_providers"]


class TodoProvider(Provider):
    policy = provide(TodoPolicy, provides=Policy[Todo], scope=Scope.APP)
    use_cases = provide_all(
        CreateTodo, GetTodo, ListTodos, ReplaceTodo, UpdateTodo, ToggleTodo, DeleteTodo, scope=Scope.REQUEST
    )


class _Sql(Provider):
    @provide(scope=Scope.REQUEST)
    def unit_of_work(self, transaction: SqlUnitOfWork) -> TodoUnitOfWork:
        return SqlTodoUnitOfWork(transaction)


class _Memory(Provider):
    @provide(scope=Scope.REQUEST)
    def unit_of_work(self, transaction: InMemoryUnitOfWork) -> TodoUnitOfWork:
        return InMemoryTodoUnitOfWork(transaction)


def todo_providers(storage: Storage) -> tuple[Provider, ...]:
    units: dict[Storage, Any] = {Storage.SQL: _Sql, Storage.MEMORY: _Memory}
    return TodoProvider(), units[storage]()
