"""The todo state machine over the in-memory store."""

from __future__ import annotations

from uuid import uuid4

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from adapters.memory.database import InMemoryDatabase
from application.shared.actor import Actor
from domain.shared.ids import UserId
from tests.support.todo_machine import TodoMachine
from tests.support.todos import an_actor
from tests.support.units import AllRepositories as UnitOfWork
from tests.support.units import memory_unit


class InMemoryTodoMachine(TodoMachine):
    async def set_up(self) -> list[Actor]:
        self.database = InMemoryDatabase()
        return [an_actor(UserId(uuid4())), an_actor(UserId(uuid4()))]

    def new_uow(self) -> UnitOfWork:
        return memory_unit(self.database)


def test_todo_use_cases_agree_with_the_model_in_memory() -> None:
    run_state_machine_as_test(
        InMemoryTodoMachine, settings=settings(settings.default, max_examples=60, stateful_step_count=30)
    )
