"""``SqlJobBacklog``: how many jobs wait or run, read from the jobs table."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from adapters.sql.session import SqlSession
from adapters.sql.statements import Query
from adapters.sql.tables import jobs
from application.chat.ports import JobBacklog
from domain.jobs.job import JobStatus

__all__ = ["SqlJobBacklog"]

_QUEUED = Query(
    select(func.count().label("n")).where(
        or_(jobs.c.status == JobStatus.QUEUED.value, jobs.c.status == JobStatus.RUNNING.value)
    )
)


class SqlJobBacklog(JobBacklog):
    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def queued(self) -> int:
        return int((await self._db.read(_QUEUED)).rows[0]["n"])
