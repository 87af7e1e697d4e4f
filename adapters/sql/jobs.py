"""SQL repositories of the jobs context."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, insert, select, update

from adapters.shared.unit_of_work import ContextUnitOfWork, repository
from adapters.sql.errors import ConstraintErrors
from adapters.sql.session import SqlSession
from adapters.sql.statements import Query
from adapters.sql.tables import handled_events, jobs
from application.errors import AlreadyExistsError
from application.jobs.ports import HandledEvents, JobRepository, JobsUnitOfWork
from domain.jobs.job import Job, JobStatus

__all__ = ["SqlHandledEvents", "SqlJobRepository", "SqlJobsUnitOfWork"]

_COLUMNS = tuple(column.name for column in jobs.c)
_BY_ID = Query(select(jobs).where(jobs.c.id == bindparam("id")))
_INSERT = Query(insert(jobs).values({name: bindparam(name) for name in _COLUMNS}))
_UPDATE = Query(update(jobs).where(jobs.c.id == bindparam("key")).values({n: bindparam(n) for n in _COLUMNS[1:]}))
_JOB_ERRORS = ConstraintErrors(jobs, {"pk_jobs": lambda: AlreadyExistsError("job", "id")})
_HANDLED = Query(select(handled_events.c.handler).where(handled_events.c.event_id == bindparam("event_id")))
_MARK = Query(
    insert(handled_events).values(
        event_id=bindparam("event_id"), handler=bindparam("handler"), handled_at=bindparam("at")
    )
)
_MARK_ERRORS = ConstraintErrors(
    handled_events, {"pk_handled_events": lambda: AlreadyExistsError("handled event", "id")}
)


def _row(job: Job) -> dict[str, Any]:
    return {name: getattr(job, name) for name in _COLUMNS}


def _job(row: Any) -> Job:
    fields = {name: row[name] for name in _COLUMNS}
    fields["status"] = JobStatus(fields["status"])
    return Job(**fields)


class SqlJobRepository(JobRepository):
    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def get(self, job_id: UUID) -> Job | None:
        row = (await self._db.read(_BY_ID, {"id": job_id})).first()
        return None if row is None else _job(row)

    async def add(self, job: Job) -> None:
        await self._db.write(_INSERT, _row(job), errors=_JOB_ERRORS)

    async def save(self, job: Job) -> None:
        row = _row(job)
        row["key"] = row.pop("id")
        await self._db.write(_UPDATE, row)


class SqlHandledEvents(HandledEvents):
    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def of(self, event_id: UUID) -> set[str]:
        return {row["handler"] for row in (await self._db.read(_HANDLED, {"event_id": event_id})).rows}

    async def add(self, event_id: UUID, handler: str, at: datetime) -> None:
        await self._db.write(_MARK, {"event_id": event_id, "handler": handler, "at": at}, errors=_MARK_ERRORS)


class SqlJobsUnitOfWork(ContextUnitOfWork[SqlSession], JobsUnitOfWork):
    jobs = repository(SqlJobRepository)
    handled = repository(SqlHandledEvents)
