"""``/api/v1/jobs`` (admin): list job records, retry dead letters."""

from __future__ import annotations

from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery
from litestar.status_codes import HTTP_202_ACCEPTED

from application.jobs.list_jobs import ListJobs, ListJobsCommand
from application.jobs.retry_job import RetryJob, RetryJobCommand
from application.shared.actor import Actor
from domain.jobs.job import JobStatus
from entrypoints.http.auth import BEARER_SECURITY
from entrypoints.http.jobs.schemas import JobPage, JobView
from entrypoints.http.pages import PageNumber, PageSize
from entrypoints.http.problems import problem_responses

__all__ = ["JobController"]


_LIST = """Newest first (by when the relay queued them). `?status=failed` lists the dead
letters: jobs whose every attempt failed. Finished jobs stay listed for the retention
period (`PORTSIDE_RETENTION_DAYS`, 7 by default). Admins only."""


class JobController(Controller):
    path = "/jobs"
    tags = ["jobs"]
    security = BEARER_SECURITY

    @get("/", summary="List background jobs", description=_LIST, responses=problem_responses(401, 403, 422))
    @inject
    async def list_jobs(
        self,
        actor: FromDishka[Actor],
        list_jobs: FromDishka[ListJobs],
        status: FromQuery[JobStatus | None] = None,
        page: PageNumber = 1,
        size: PageSize = 20,
    ) -> JobPage:
        return JobPage.of(await list_jobs(ListJobsCommand(actor=actor, status=status, page=page, size=size)))

    @post(
        "/{job_id:uuid}/retry",
        status_code=HTTP_202_ACCEPTED,
        summary="Retry a dead letter",
        description=RetryJob.__doc__,
        responses=problem_responses(401, 403, 404, 409, 503),
    )
    @inject
    async def retry_job(
        self, job_id: FromPath[UUID], actor: FromDishka[Actor], retry_job: FromDishka[RetryJob]
    ) -> JobView:
        return JobView.of(await retry_job(RetryJobCommand(actor=actor, job_id=job_id)))
