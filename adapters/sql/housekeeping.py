"""``SqlHousekeeper``: one DELETE per table, each in a transaction of its own (a job's
handled-event marks go with the job)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Delete, and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.tables import (
    audit_log,
    handled_events,
    jobs,
    link_tokens,
    login_failures,
    outbox,
    password_reset_requests,
    sessions,
)
from adapters.sql.unit_of_work import SqlUnitOfWork
from application.shared.housekeeping import Housekeeper, RetentionRules

__all__ = ["SqlHousekeeper"]


def _statements(now: datetime, rules: RetentionRules) -> dict[str, Delete | tuple[Delete, ...]]:
    ended = now - rules.kept
    finished_jobs = jobs.c.finished_at < ended  # only finished jobs have a finished_at
    return {
        "sessions": delete(sessions).where(
            or_(sessions.c.expires_at < ended, sessions.c.idle_expires_at < ended, sessions.c.revoked_at < ended)
        ),
        "login_failures": delete(login_failures).where(login_failures.c.failed_at < now - rules.login_failures),
        "link_tokens": delete(link_tokens).where(link_tokens.c.expires_at < ended),
        "password_reset_requests": delete(password_reset_requests).where(
            password_reset_requests.c.requested_at < ended
        ),
        "audit_log": delete(audit_log).where(audit_log.c.at < now - rules.audit_log),
        "outbox": delete(outbox).where(and_(outbox.c.published_at.is_not(None), outbox.c.published_at < ended)),
        # Together: a job retried between the two deletes would otherwise lose the marks
        # of handlers that succeeded, and repeat them.
        "jobs": (
            delete(handled_events).where(handled_events.c.event_id.in_(select(jobs.c.id).where(finished_jobs))),
            delete(jobs).where(finished_jobs),
        ),
    }


class SqlHousekeeper(Housekeeper):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def purge(self, now: datetime, rules: RetentionRules) -> dict[str, int]:
        deleted = {}
        for table, statements in _statements(now, rules).items():
            async with SqlUnitOfWork(self._engine) as unit:
                for statement in statements if isinstance(statements, tuple) else (statements,):
                    deleted[table] = (await unit.session.write(statement)).rowcount  # the last one counts
                await unit.commit()
        return deleted
