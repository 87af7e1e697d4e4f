"""Bodies of ``/api/v1/jobs``."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from domain.jobs.job import Job, JobStatus
from domain.shared.pagination import Page
from entrypoints.http.pages import page_fields


class JobView(msgspec.Struct, kw_only=True):
    id: UUID
    """The id of the event the job handles."""
    name: str
    """The event's name (``user.registered``)."""
    status: JobStatus
    attempts: int
    last_error: str | None
    enqueued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobView:
        return cls(
            id=job.id,
            name=job.name,
            status=job.status,
            attempts=job.attempts,
            last_error=job.last_error,
            enqueued_at=job.enqueued_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


class JobPage(msgspec.Struct, kw_only=True):
    items: list[JobView]
    page: int
    size: int
    total: int
    pages: int

    @classmethod
    def of(cls, page: Page[Job]) -> JobPage:
        return cls(**page_fields(page, JobView.of))
