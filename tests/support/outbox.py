"""An outbox store for relay and reader contract tests: memory, SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.broadcaster import InProcessBroadcaster
from adapters.memory.database import InMemoryDatabase
from adapters.memory.jobs import InMemoryJobsUnitOfWork
from adapters.memory.outbox import InMemoryOutboxReader
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.sql.jobs import SqlJobsUnitOfWork
from adapters.sql.outbox_reader import SqlOutboxReader
from adapters.sql.unit_of_work import SqlUnitOfWork
from adapters.system.clock import FixedClock
from adapters.system.ids import Uuid7Generator
from application.jobs.handle_event import EventHandlers
from application.jobs.ports import JobQueue, JobsUnitOfWork
from application.jobs.relay_outbox import RelayOutbox, RelayRules
from application.shared.events import Envelope
from application.shared.outbox import OutboxReader
from application.shared.realtime import Broadcaster
from domain.identity.email import Email
from domain.identity.user import Role, User
from domain.shared.ids import UserId
from entrypoints.realtime.announcer import ApiAnnouncer
from tests.support.builders import T0
from tests.support.units import AllRepositories, memory_unit, sql_unit

LEASE = timedelta(seconds=30)


class WelcomesRegistrations:
    """A handler of ``user.registered``, so the relay has a job to record and queue for it."""

    name: ClassVar[str] = "test.registered"
    events: ClassVar[frozenset[str]] = frozenset({"user.registered"})

    async def __call__(self, envelope: Envelope) -> None:
        return None


HANDLERS = EventHandlers((WelcomesRegistrations(),))


@dataclass
class Outbox:
    """A store, a reader over it, and the clock both share."""

    reader: OutboxReader
    new_unit: Callable[[], AllRepositories]
    clock: FixedClock
    new_reader: Callable[[], OutboxReader]
    new_jobs_unit: Callable[[], JobsUnitOfWork]

    def relay(
        self,
        queue: JobQueue,
        rules: RelayRules,
        reader: OutboxReader | None = None,
        broadcaster: Broadcaster | None = None,
    ) -> RelayOutbox:
        """A relay over this store that records a job for each registration and announces
        what the API announces (through this process only, unless ``broadcaster``)."""
        return RelayOutbox(
            reader or self.reader,
            self.new_jobs_unit(),
            queue,
            HANDLERS,
            self.clock,
            rules,
            ApiAnnouncer(),
            broadcaster or InProcessBroadcaster(),
        )

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
        lambda: InMemoryJobsUnitOfWork(InMemoryUnitOfWork(database)),
    )


def sql_outbox(engine: AsyncEngine, clock: FixedClock | None = None) -> Outbox:
    clock = clock or FixedClock(T0)
    return Outbox(
        SqlOutboxReader(engine, clock),
        lambda: sql_unit(engine),
        clock,
        lambda: SqlOutboxReader(engine, clock),
        lambda: SqlJobsUnitOfWork(SqlUnitOfWork(engine)),
    )
