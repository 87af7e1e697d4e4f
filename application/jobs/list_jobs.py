"""``ListJobs``: the admin's page of job records, newest first."""

from __future__ import annotations

from dataclasses import dataclass

from application.jobs.policy import JobPolicy
from application.jobs.ports import JobsUnitOfWork
from application.shared.actor import Actor
from application.shared.authorization import Action, enforce
from domain.jobs.job import Job, JobStatus
from domain.shared.pagination import DEFAULT_PAGE_SIZE, Page, PageRequest


@dataclass(frozen=True, slots=True)
class ListJobsCommand:
    actor: Actor | None
    status: JobStatus | None = None
    """``failed`` lists the dead letters."""
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE


class ListJobs:
    def __init__(self, uow: JobsUnitOfWork, policy: JobPolicy) -> None:
        self._uow = uow
        self._policy = policy

    async def __call__(self, cmd: ListJobsCommand) -> Page[Job]:
        enforce(self._policy.decide(cmd.actor, Action.READ), cmd.actor, "list jobs")
        request = PageRequest(cmd.page, cmd.size)
        async with self._uow as uow:
            return await uow.jobs.page(cmd.status, request)
