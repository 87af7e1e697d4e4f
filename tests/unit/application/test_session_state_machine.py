"""The shipped session machine (``entrypoints.testing.machines``) on the in-memory profile:
register / log in / refresh / log out / revoke / change password against a dict model."""

from __future__ import annotations

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from entrypoints.testing.machines import SessionMachine


def test_identity_use_cases_agree_with_the_session_model_in_memory() -> None:
    run_state_machine_as_test(
        SessionMachine, settings=settings(settings.default, max_examples=60, stateful_step_count=30, deadline=None)
    )
