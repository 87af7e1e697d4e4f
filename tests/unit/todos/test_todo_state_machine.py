"""The shipped todo machine (``entrypoints.testing.machines``) on the in-memory profile."""

from __future__ import annotations

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from entrypoints.testing.machines import TodoMachine


def test_todo_use_cases_agree_with_the_model_in_memory() -> None:
    run_state_machine_as_test(TodoMachine, settings=settings(settings.default, max_examples=60, stateful_step_count=30))
