"""The todo state machine over SQL on PostgreSQL: the same model, the real repository."""

from __future__ import annotations

from typing import ClassVar
from uuid import uuid4

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import create_engine
from application.shared.actor import Actor
from domain.identity.email import Email
from domain.identity.user import Role, User
from domain.shared.ids import UserId
from tests.support.builders import T0
from tests.support.services import truncate_pg
from tests.support.todo_machine import TodoMachine
from tests.support.todos import an_actor
from tests.support.units import AllRepositories as UnitOfWork
from tests.support.units import sql_unit


class PostgresTodoMachine(TodoMachine):
    database_url: ClassVar[str]
    engine: AsyncEngine

    async def set_up(self) -> list[Actor]:
        await truncate_pg(self.database_url)
        self.engine = create_engine(self.database_url, pool_size=2)
        actors = []
        async with sql_unit(self.engine) as uow:
            for n in range(2):
                user = User.register(
                    user_id=UserId(uuid4()),
                    email=Email(f"user{n}@example.com"),
                    display_name=None,
                    password_hash="h",
                    role=Role.USER,
                    now=T0,
                )
                await uow.users.add(user)
                actors.append(an_actor(user.id))
            await uow.commit()
        return actors

    def new_uow(self) -> UnitOfWork:
        return sql_unit(self.engine)

    async def tear_down(self) -> None:
        await self.engine.dispose()


def test_todo_use_cases_agree_with_the_model_on_postgres(pg_database: str) -> None:
    PostgresTodoMachine.database_url = pg_database
    run_state_machine_as_test(
        PostgresTodoMachine, settings=settings(settings.default, max_examples=15, stateful_step_count=20)
    )
