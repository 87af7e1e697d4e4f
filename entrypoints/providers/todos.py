"""The todos context: its use-cases, and its unit of work on either storage."""

from __future__ import annotations

from dishka import Provider, Scope, provide, provide_all

from adapters.memory.todos import InMemoryTodoUnitOfWork
from adapters.sql.todos import SqlTodoUnitOfWork
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
from entrypoints.providers.storage import Storage, unit_of_work_provider

__all__ = ["todo_providers"]


class TodoProvider(Provider):
    policy = provide(TodoPolicy, provides=Policy[Todo], scope=Scope.APP)
    use_cases = provide_all(
        CreateTodo, GetTodo, ListTodos, ReplaceTodo, UpdateTodo, ToggleTodo, DeleteTodo, scope=Scope.REQUEST
    )


def todo_providers(storage: Storage) -> tuple[Provider, ...]:
    return TodoProvider(), unit_of_work_provider(
        storage, TodoUnitOfWork, sql=SqlTodoUnitOfWork, memory=InMemoryTodoUnitOfWork
    )
