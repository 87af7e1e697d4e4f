"""The shipped accounts machine over SQL on PostgreSQL: the same model, the whole app on the
real database (the active admins' lock, the session cascade on deletion, the principal read)."""

from __future__ import annotations

from typing import ClassVar

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from entrypoints.testing.harness import Harness
from entrypoints.testing.machines import AccountsMachine
from entrypoints.testing.machines.accounts import NO_LOCKOUT
from tests.support.builders import a_harness
from tests.support.services import truncate_pg


class PostgresAccountsMachine(AccountsMachine):
    database_url: ClassVar[str]

    def open_harness(self) -> Harness:
        # "The last active admin" is about the whole store: another example's admins would
        # make a refused deletion pass. Each example starts on an empty database.
        self.run(truncate_pg(self.database_url))
        return a_harness(database_url=self.database_url, db_pool_size=2, lockout_threshold=NO_LOCKOUT)


def test_account_administration_agrees_with_the_model_on_postgres(pg_database: str) -> None:
    PostgresAccountsMachine.database_url = pg_database
    run_state_machine_as_test(
        PostgresAccountsMachine, settings=settings(settings.default, max_examples=15, stateful_step_count=20)
    )
