"""SQL repositories of the jobs context."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, bindparam, func, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as upsert

from adapters.shared.event_codec import from_json, to_json
from adapters.shared.unit_of_work import ContextUnitOfWork, repository
from adapters.sql.errors import ConstraintErrors
from adapters.sql.session import SqlSession
from adapters.sql.statements import Query
from adapters.sql.tables import handled_events, jobs
from application.errors import AlreadyExistsError
from application.jobs.ports import HandledEvents, JobRepository, JobsUnitOfWork
from application.shared.events import Envelope
from domain.jobs.job import Job, JobStatus
from domain.shared.pagination import Page, PageRequest

__all__ = ["SqlHandledEvents", "SqlJobRepository", "SqlJobsUnitOfWork"]

_FIELDS = (
    "id",
    "name",
    "status",
    "attempts",
    "last_error",
    "enqueued_at",
    "started_at",
    "finished_at",
    "run_at",
    "lease_until",
    "version",
)
_RECORD = [jobs.c[name] for name in _FIELDS]
_COUNT_BY_STATUS = Query(select(jobs.c.status, func.count().label("count")).group_by(jobs.c.status))
_BY_ID = Query(select(*_RECORD).where(jobs.c.id == bindparam("id")))
_ENVELOPE = Query(select(jobs.c.envelope).where(jobs.c.id == bindparam("id")))
# ON CONFLICT DO NOTHING compiles for PostgreSQL and SQLite alike.
_INSERT = Query(
    upsert(jobs)
    .values({name: bindparam(name) for name in (*_FIELDS, "envelope")})
    .on_conflict_do_nothing(index_elements=[jobs.c.id])
)
_UPDATE = Query(
    update(jobs)
    .where(jobs.c.id == bindparam("key"), jobs.c.version == bindparam("expected"))
    .values({name: bindparam(name) for name in _FIELDS[1:]})
)
_DUE = Query(
    select(jobs.c.envelope)
    .where(
        or_(
            and_(jobs.c.status == JobStatus.QUEUED.value, jobs.c.run_at <= bindparam("at")),
            and_(jobs.c.status == JobStatus.RUNNING.value, jobs.c.lease_until <= bindparam("at")),
        )
    )
    .order_by(jobs.c.run_at)
    .limit(bindparam("limit"))
)
_HANDLED = Query(select(handled_events.c.handler).where(handled_events.c.event_id == bindparam("event_id")))
_MARK = Query(
    upsert(handled_events)
    .values(event_id=bindparam("event_id"), handler=bindparam("handler"), handled_at=bindparam("at"))
    .on_conflict_do_nothing(index_elements=[handled_events.c.event_id, handled_events.c.handler])
)
_MARK_ERRORS = ConstraintErrors(
    handled_events, {"pk_handled_events": lambda: AlreadyExistsError("handled event", "id")}
)
_LISTINGS: dict[tuple[str, bool], tuple[Query, Query]] = {}


def _row(job: Job) -> dict[str, Any]:
    return {name: getattr(job, name) for name in _FIELDS}


def _job(row: Any) -> Job:
    fields = {name: row[name] for name in _FIELDS}
    fields["status"] = JobStatus(fields["status"])
    return Job(**fields)


class SqlJobRepository(JobRepository):
    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def get(self, job_id: UUID) -> Job | None:
        row = (await self._db.read(_BY_ID, {"id": job_id})).first()
        return None if row is None else _job(row)

    async def add(self, job: Job, envelope: Envelope) -> bool:
        result = await self._db.write(_INSERT, {**_row(job), "envelope": to_json(envelope)})
        return result.rowcount == 1

    async def save(self, job: Job) -> bool:
        row = _row(job)
        row["key"] = row.pop("id")
        row["expected"] = job.version - 1
        return (await self._db.write(_UPDATE, row)).rowcount == 1

    async def envelope(self, job_id: UUID) -> Envelope | None:
        row = (await self._db.read(_ENVELOPE, {"id": job_id})).first()
        return None if row is None else from_json(row["envelope"])

    async def due(self, at: datetime, limit: int) -> list[Envelope]:
        return [from_json(row["envelope"]) for row in (await self._db.read(_DUE, {"at": at, "limit": limit})).rows]

    async def page(self, status: JobStatus | None, request: PageRequest) -> Page[Job]:
        page_query, count_query = self._listing(status is not None)
        filters = {"status": None if status is None else status.value}
        rows = (await self._db.read(page_query, {**filters, "limit": request.size, "offset": request.offset})).rows
        if request.offset == 0 and len(rows) < request.size:
            total = len(rows)  # a short first page is everything
        else:
            total = (await self._db.read(count_query, filters)).rows[0]["total"]
        return Page(items=[_job(row) for row in rows], request=request, total=total)

    async def count_by_status(self) -> dict[JobStatus, int]:
        counts = dict.fromkeys(JobStatus, 0)
        for row in (await self._db.read(_COUNT_BY_STATUS)).rows:
            counts[JobStatus(row["status"])] = int(row["count"])
        return counts

    def _listing(self, by_status: bool) -> tuple[Query, Query]:
        key = (self._db.dialect, by_status)
        if key not in _LISTINGS:
            condition = jobs.c.status == bindparam("status") if by_status else true()
            page = (
                select(*_RECORD)
                .where(condition)
                .order_by(jobs.c.enqueued_at.desc(), jobs.c.id.desc())
                .limit(bindparam("limit"))
                .offset(bindparam("offset"))
            )
            count = select(func.count().label("total")).select_from(jobs).where(condition)
            _LISTINGS[key] = (Query(page), Query(count))
        return _LISTINGS[key]


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
