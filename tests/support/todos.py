"""Todo use-cases wired to a unit-of-work factory: in-memory or SQL, same code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import uuid4

from adapters.system.clock import FixedClock
from adapters.system.ids import Uuid7Generator
from application.shared.actor import Actor
from application.todos.create_todo import CreateTodo
from application.todos.delete_todo import DeleteTodo
from application.todos.get_todo import GetTodo
from application.todos.list_todos import ListTodos
from application.todos.replace_todo import ReplaceTodo
from application.todos.toggle_todo import ToggleTodo
from application.todos.update_todo import UpdateTodo
from domain.identity.ids import SessionId
from domain.identity.user import Role
from domain.shared.ids import UserId
from tests.support.builders import T0
from tests.support.units import AllRepositories as UnitOfWork


def an_actor(user_id: UserId | None = None) -> Actor:
    return Actor(user_id=user_id or UserId(uuid4()), session_id=SessionId(uuid4()), role=Role.USER)


@dataclass
class TodoApp:
    new_uow: Callable[[], UnitOfWork]
    clock: FixedClock = field(default_factory=lambda: FixedClock(T0))

    def __post_init__(self) -> None:
        self.ids = Uuid7Generator()

    @property
    def create(self) -> CreateTodo:
        return CreateTodo(self.new_uow(), self.clock, self.ids)

    @property
    def get(self) -> GetTodo:
        return GetTodo(self.new_uow())

    @property
    def list(self) -> ListTodos:
        return ListTodos(self.new_uow())

    @property
    def replace(self) -> ReplaceTodo:
        return ReplaceTodo(self.new_uow(), self.clock)

    @property
    def update(self) -> UpdateTodo:
        return UpdateTodo(self.new_uow(), self.clock)

    @property
    def toggle(self) -> ToggleTodo:
        return ToggleTodo(self.new_uow(), self.clock)

    @property
    def delete(self) -> DeleteTodo:
        return DeleteTodo(self.new_uow(), self.clock)
