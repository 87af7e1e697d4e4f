"""The jobs context: relaying, handling and listing jobs, and its unit of work on either storage.

The job queue itself depends on whether Redis is configured, so the container's service
providers (``entrypoints/container.py``) provide it.
"""

from __future__ import annotations

from datetime import timedelta

from dishka import Provider, Scope, provide

from adapters.memory.jobs import InMemoryJobsUnitOfWork
from adapters.sql.jobs import SqlJobsUnitOfWork
from application.jobs.due_jobs import FindDueJobs, RequeueOverdueJobs, RunnerRules, SweepRules
from application.jobs.handle_event import EventHandlers, HandleEvent, JobRules
from application.jobs.job_figures import JobFigures
from application.jobs.list_jobs import ListJobs
from application.jobs.policy import JobPolicy
from application.jobs.ports import JobsUnitOfWork
from application.jobs.relay_outbox import RelayOutbox, RelayRules
from application.jobs.retry_job import RetryJob
from application.shared.housekeeping import CleanUp, RetentionRules
from domain.jobs.job import Backoff
from entrypoints.providers.storage import Storage, unit_of_work_provider
from entrypoints.settings import Settings

__all__ = ["job_providers"]


class JobProvider(Provider):
    handle_event = provide(HandleEvent, scope=Scope.REQUEST)
    relay = provide(RelayOutbox, scope=Scope.REQUEST)
    find_due = provide(FindDueJobs, scope=Scope.REQUEST)
    requeue_overdue = provide(RequeueOverdueJobs, scope=Scope.REQUEST)
    list_jobs = provide(ListJobs, scope=Scope.REQUEST)
    retry_job = provide(RetryJob, scope=Scope.REQUEST)
    job_figures = provide(JobFigures, scope=Scope.REQUEST)
    policy = provide(JobPolicy, scope=Scope.APP)

    @provide(scope=Scope.APP)
    def relay_rules(self) -> RelayRules:
        return RelayRules()

    @provide(scope=Scope.APP)
    def runner_rules(self) -> RunnerRules:
        return RunnerRules()

    @provide(scope=Scope.APP)
    def sweep_rules(self) -> SweepRules:
        return SweepRules()

    @provide(scope=Scope.APP)
    def backoff(self) -> Backoff:
        return Backoff()

    clean_up = provide(CleanUp, scope=Scope.APP)

    @provide(scope=Scope.APP)
    def retention(self, s: Settings) -> RetentionRules:
        return RetentionRules(
            kept=timedelta(days=s.retention_days),
            login_failures=timedelta(seconds=s.lockout_window + s.lockout_duration),
            audit_log=timedelta(days=s.audit_retention_days),
        )

    @provide(scope=Scope.APP)
    def rules(self, s: Settings, backoff: Backoff) -> JobRules:
        return JobRules(backoff=backoff, lease=timedelta(seconds=s.job_timeout))

    @provide(scope=Scope.REQUEST)
    def handlers(self) -> EventHandlers:
        """What a relayed event can set off: none here. Each context adds its own handlers
        with a dishka ``decorate`` in its provider (``entrypoints/providers/identity.py``),
        which must come after this one: ``CONTEXTS`` lists the jobs context first."""
        return EventHandlers(())


def job_providers(storage: Storage) -> tuple[Provider, ...]:
    return JobProvider(), unit_of_work_provider(
        storage, JobsUnitOfWork, sql=SqlJobsUnitOfWork, memory=InMemoryJobsUnitOfWork
    )
