"""The jobs context: handling relayed events, and its unit of work on either storage."""

from __future__ import annotations

from typing import Any

from dishka import Provider, Scope, provide

from adapters.memory.jobs import InMemoryJobsUnitOfWork
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.sql.jobs import SqlJobsUnitOfWork
from adapters.sql.unit_of_work import SqlUnitOfWork
from application.identity.welcome_email import SendWelcomeEmail
from application.jobs.handle_event import EventHandlers, HandleEvent
from application.jobs.ports import JobsUnitOfWork
from domain.jobs.job import Backoff
from entrypoints.providers.storage import Storage

__all__ = ["job_providers"]


class JobProvider(Provider):
    handle_event = provide(HandleEvent, scope=Scope.REQUEST)
    welcome_email = provide(SendWelcomeEmail, scope=Scope.APP)

    @provide(scope=Scope.APP)
    def backoff(self) -> Backoff:
        return Backoff()

    @provide(scope=Scope.APP)
    def handlers(self, welcome: SendWelcomeEmail) -> EventHandlers:
        """Every handler of every context: what a relayed event can set off."""
        return EventHandlers((welcome,))


class _Sql(Provider):
    @provide(scope=Scope.REQUEST)
    def unit_of_work(self, transaction: SqlUnitOfWork) -> JobsUnitOfWork:
        return SqlJobsUnitOfWork(transaction)


class _Memory(Provider):
    @provide(scope=Scope.REQUEST)
    def unit_of_work(self, transaction: InMemoryUnitOfWork) -> JobsUnitOfWork:
        return InMemoryJobsUnitOfWork(transaction)


def job_providers(storage: Storage) -> tuple[Provider, ...]:
    units: dict[Storage, Any] = {Storage.SQL: _Sql, Storage.MEMORY: _Memory}
    return JobProvider(), units[storage]()
