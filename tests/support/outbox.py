"""An outbox store for relay and reader contract tests: memory, SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.database import InMemoryDatabase
from adapters.memory.outbox import InMemoryOutboxReader
from adapters.sql.outbox_reader import SqlOutboxReader
from adapters.system.clock import FixedClock
from adapters.system.ids import Uuid7Generator
from application.shared.outbox import OutboxReader
from domain.identity.email import Email
from domain.identity.user import Role, User
from domain.shared.ids import UserId
from tests.support.builders import T0
from tests.support.units import AllRepositories, memory_unit, sql_unit

LEASE = timedelta(seconds=30)


@dataclass
class Outbox:
    """A store, a reader over it, and the clock both share."""

    reader: OutboxReader
    new_unit: Callable[[], AllRepositories]
    clock: FixedClock
    new_reader: Callable[[], OutboxReader]

    async def commit_users(self, *emails: str) -> None:
        """One unit of work per address, each committing one ``user.registered``."""
        for email in emails:
            async with self.new_unit() as uow:
                await uow.users.add(
                    User.register(
                        user_id=UserId(Uuid7Generator().new_id()),
                        email=Email.parse(email),
                        display_name=None,
                        password_hash="h",
                        role=Role.USER,
                        now=T0,
                    )
                )
                await uow.commit()


def memory_outbox() -> Outbox:
    clock, database = FixedClock(T0), InMemoryDatabase()
    return Outbox(
        InMemoryOutboxReader(database, clock),
        lambda: memory_unit(database),
        clock,
        lambda: InMemoryOutboxReader(database, clock),
    )


def sql_outbox(engine: AsyncEngine, clock: FixedClock | None = None) -> Outbox:
    clock = clock or FixedClock(T0)
    return Outbox(
        SqlOutboxReader(engine, clock), lambda: sql_unit(engine), clock, lambda: SqlOutboxReader(engine, clock)
    )
