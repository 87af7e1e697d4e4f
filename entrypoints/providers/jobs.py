"""The jobs context: handling relayed events, and its unit of work on either storage."""

from __future__ import annotations

from dishka import Provider, Scope, provide

from adapters.memory.jobs import InMemoryJobsUnitOfWork
from adapters.sql.jobs import SqlJobsUnitOfWork
from application.identity.welcome_email import SendWelcomeEmail
from application.jobs.handle_event import EventHandlers, HandleEvent
from application.jobs.ports import JobsUnitOfWork
from domain.jobs.job import Backoff
from entrypoints.providers.storage import Storage, unit_of_work_provider

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


def job_providers(storage: Storage) -> tuple[Provider, ...]:
    return JobProvider(), unit_of_work_provider(
        storage, JobsUnitOfWork, sql=SqlJobsUnitOfWork, memory=InMemoryJobsUnitOfWork
    )
