"""``InMemoryHousekeeper``: the SQL cleanup's rules over the in-memory tables."""

from __future__ import annotations

from datetime import datetime

from adapters.memory.database import InMemoryDatabase
from adapters.memory.identity import IdentityTables
from adapters.memory.jobs import JobTables
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from application.shared.housekeeping import Housekeeper, RetentionRules

__all__ = ["InMemoryHousekeeper"]


class InMemoryHousekeeper(Housekeeper):
    def __init__(self, database: InMemoryDatabase) -> None:
        self._database = database

    async def purge(self, now: datetime, rules: RetentionRules) -> dict[str, int]:
        ended = now - rules.kept
        async with InMemoryUnitOfWork(self._database) as unit:
            identity = unit.tables(IdentityTables, write=True)
            gone = {
                key
                for key, session in identity.sessions.items()
                if min(session.expires_at, session.idle_expires_at) < ended
                or (session.revoked_at is not None and session.revoked_at < ended)
            }
            identity.sessions = {key: s for key, s in identity.sessions.items() if key not in gone}
            identity.refresh_tokens = {h: s for h, s in identity.refresh_tokens.items() if s not in gone}
            failures_before = sum(len(times) for times in identity.login_failures.values())
            oldest = now - rules.login_failures
            kept_failures = {
                email: {n: attempt for n, attempt in times.items() if attempt.at >= oldest}
                for email, times in identity.login_failures.items()
            }
            identity.login_failures = {email: times for email, times in kept_failures.items() if times}
            failures_after = sum(len(times) for times in identity.login_failures.values())
            links_before = len(identity.link_tokens)
            identity.link_tokens = {h: t for h, t in identity.link_tokens.items() if t.expires_at >= ended}
            requests_before = len(identity.password_reset_requests)
            identity.password_reset_requests = {
                key: request
                for key, request in identity.password_reset_requests.items()
                if request.requested_at >= ended
            }
            audit_before = len(identity.audit_log)
            oldest_entry = now - rules.audit_log
            identity.audit_log = {key: e for key, e in identity.audit_log.items() if e.at >= oldest_entry}
            job_tables = unit.tables(JobTables, write=True)
            old_jobs = {
                job_id
                for job_id, job in job_tables.jobs.items()
                if job.finished_at is not None and job.finished_at < ended
            }
            job_tables.jobs = {k: j for k, j in job_tables.jobs.items() if k not in old_jobs}
            job_tables.envelopes = {k: e for k, e in job_tables.envelopes.items() if k not in old_jobs}
            job_tables.handled = {key: at for key, at in job_tables.handled.items() if key[0] not in old_jobs}
            outbox_before = len(self._database.outbox)
            self._database.outbox[:] = [
                entry for entry in self._database.outbox if entry.published_at is None or entry.published_at >= ended
            ]
            await unit.commit()
        return {
            "sessions": len(gone),
            "login_failures": failures_before - failures_after,
            "link_tokens": links_before - len(identity.link_tokens),
            "password_reset_requests": requests_before - len(identity.password_reset_requests),
            "audit_log": audit_before - len(identity.audit_log),
            "outbox": outbox_before - len(self._database.outbox),
            "jobs": len(old_jobs),
        }
