"""The shipped todo machine over SQL on PostgreSQL: the same model, the whole app on the real database."""

from __future__ import annotations

from typing import ClassVar

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from entrypoints.testing.harness import Harness
from entrypoints.testing.machines import TodoMachine
from tests.support.builders import a_harness


class PostgresTodoMachine(TodoMachine):
    database_url: ClassVar[str]

    def open_harness(self) -> Harness:
        # Each example's users are new (TodoMachine names them per example): no need to empty the database.
        return a_harness(database_url=self.database_url, db_pool_size=2)


def test_todo_use_cases_agree_with_the_model_on_postgres(pg_database: str) -> None:
    PostgresTodoMachine.database_url = pg_database
    run_state_machine_as_test(
        PostgresTodoMachine, settings=settings(settings.default, max_examples=15, stateful_step_count=20)
    )
