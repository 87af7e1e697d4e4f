"""The periodic cleanup on memory, SQLite and PostgreSQL: what the retention rules let go
is deleted, and nothing that still matters."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

import pytest

from application.errors import RateLimitedError, UnauthenticatedError
from application.identity.log_in import LogInCommand
from application.identity.log_out import LogOutCommand
from application.identity.ports import IdentityUnitOfWork
from application.identity.request_password_reset import RequestPasswordReset, RequestPasswordResetCommand
from application.jobs.handle_event import HandleEvent
from application.jobs.list_jobs import ListJobs, ListJobsCommand
from application.jobs.ports import JobsUnitOfWork
from application.jobs.relay_outbox import RelayOutbox
from application.shared.audit import AuditFilters
from application.shared.events import Envelope
from application.shared.housekeeping import CleanUp
from domain.identity.user import Role
from domain.jobs.job import Job, JobStatus
from domain.shared.pagination import PageRequest
from entrypoints.testing.harness import Harness, harness_settings
from tests.support.builders import T0

PASSWORD = "a-sturdy-passphrase-42"


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


async def _relay_and_handle(app: Harness) -> int:
    """Relay every event, then run every job the relay recorded; how many jobs."""
    async with app.use(RelayOutbox) as relay:
        await relay()
    async with app.use(JobsUnitOfWork) as uow, uow:
        due = await uow.jobs.due(app.clock.now(), 100)
    for envelope in due:
        async with app.use(HandleEvent) as handle:
            assert (await handle(envelope)).done
    return len(due)


async def test_cleanup_deletes_what_has_expired_and_keeps_the_rest(database_url: str) -> None:
    async with Harness(
        harness_settings(database_url, retention_days=7, audit_retention_days=7, lockout_threshold=2), start=T0
    ) as app:
        ada = await app.sign_up("ada@example.com", PASSWORD)
        bob = await app.sign_up("bob@example.com", PASSWORD)
        await app.log_out(LogOutCommand(actor=bob))  # ended now: kept 7 days
        await _fail_login(app, "ada@example.com")
        async with app.use(RequestPasswordReset) as request_reset:  # for no account: recorded all the same
            await request_reset(RequestPasswordResetCommand(email="nobody@example.com"))
        relayed = len(await app.events())
        assert await _relay_and_handle(app) == 3  # two welcomes, one reset request
        await app.sign_up("dan@example.com", PASSWORD)  # old too, but never relayed: kept
        stuck = _envelope()
        async with app.use(JobsUnitOfWork) as uow, uow:  # an old job that never ran: kept
            await uow.jobs.add(Job.queue(event_id=stuck.event_id, name=stuck.name, now=app.clock.now()), stuck)
            await uow.commit()
        async with app.use(IdentityUnitOfWork) as uow, uow:
            audited = (await uow.audit_log.page(AuditFilters(), PageRequest())).total
        assert audited > 0
        app.clock.advance(timedelta(days=8))
        await app.sign_up("cyd@example.com", PASSWORD)  # fresh: an unrelayed event, a live session
        await _fail_login(app, "cyd@example.com")  # inside the lockout window: kept
        async with app.use(CleanUp) as clean_up:
            report = await clean_up()
        assert report == {
            "sessions": 1,  # bob's, revoked 8 days ago; ada's is idle 8 of its 14 days, cyd's is new
            "login_failures": 1,
            "link_tokens": 0,
            "password_reset_requests": 1,
            "audit_log": audited,  # older than 7 days; cyd's are new
            "outbox": relayed,
            "jobs": 3,
        }
        async with app.use(CleanUp) as clean_up:
            assert set((await clean_up()).values()) == {0}  # nothing left to delete
        left = await app.events()
        assert {e.payload.get("email") for e in left if e.name == "user.registered"} == {
            "dan@example.com",
            "cyd@example.com",
        }
        async with app.use(ListJobs) as list_jobs:
            jobs = (await list_jobs(ListJobsCommand(actor=replace(ada, role=Role.ADMIN)))).items
        assert [(job.id, job.status) for job in jobs] == [(stuck.event_id, JobStatus.QUEUED)]
        assert len(await app.list_sessions(ada)) == 1  # ada's live session survived
        await _fail_login(app, "cyd@example.com")  # the second failure in the window ...
        with pytest.raises(RateLimitedError):  # ... locks: the first was kept
            await app.log_in(LogInCommand(email="cyd@example.com", password=PASSWORD))


async def _fail_login(app: Harness, email: str) -> None:
    with pytest.raises(UnauthenticatedError):
        await app.log_in(LogInCommand(email=email, password="wrong password here"))


def _envelope() -> Envelope:
    return Envelope(
        event_id=uuid4(),
        name="user.registered",
        occurred_at=T0,
        aggregate_type="user",
        aggregate_id="x",
        actor_id=None,
        request_id=None,
        payload={"email": "nobody@example.com"},
    )
