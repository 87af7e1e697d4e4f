"""The shipped accounts machine (``entrypoints.testing.machines``) on the in-memory profile:
register / log in / refresh / promote / demote / deactivate / reactivate / delete against a
dict model; after each step exactly the live sessions authenticate, exactly those of active
admins list accounts, and an ended session never comes back."""

from __future__ import annotations

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from entrypoints.testing.machines import AccountsMachine


def test_account_administration_agrees_with_the_accounts_model_in_memory() -> None:
    run_state_machine_as_test(
        AccountsMachine, settings=settings(settings.default, max_examples=60, stateful_step_count=30, deadline=None)
    )
