"""The shipped post machine (``entrypoints.testing.machines``) on the in-memory profile."""

from __future__ import annotations

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from entrypoints.testing.machines import PostMachine


def test_post_use_cases_agree_with_the_model_in_memory() -> None:
    run_state_machine_as_test(PostMachine, settings=settings(settings.default, max_examples=40, stateful_step_count=30))
