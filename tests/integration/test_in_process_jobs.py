"""The embedded profile's jobs: ``portside serve`` without Redis relays and handles
committed events in its own process, with the records, retries and dead letters of the
worker, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import ClassVar
from uuid import uuid4

import pytest

from application.identity.register_user import RegisterUserCommand
from application.jobs.due_jobs import RunnerRules
from application.jobs.handle_event import EventHandlers
from application.jobs.list_jobs import ListJobs, ListJobsCommand
from application.jobs.relay_outbox import RelayRules
from application.jobs.retry_job import RetryJob, RetryJobCommand
from application.shared.actor import Actor
from application.shared.email import EmailSender
from application.shared.events import Envelope
from domain.identity.ids import SessionId
from domain.identity.user import Role
from domain.jobs.job import Backoff, JobStatus
from domain.shared.ids import UserId
from entrypoints.testing.harness import Harness, harness_settings, overriding
from entrypoints.worker.loops import in_process_jobs
from tests.support.builders import T0
from tests.support.mail import RecordingSender

PASSWORD = "a-sturdy-passphrase-42"
BACKOFF = Backoff(max_attempts=2, base=timedelta(seconds=10), cap=timedelta(seconds=10))
ADMIN = Actor(user_id=UserId(uuid4()), session_id=SessionId(uuid4()), role=Role.ADMIN)


class Broken:
    """A handler of ``user.registered`` that fails while ``broken``."""

    name: ClassVar[str] = "test.broken"
    events: ClassVar[frozenset[str]] = frozenset({"user.registered"})

    def __init__(self) -> None:
        self.broken = True
        self.calls = 0

    async def __call__(self, envelope: Envelope) -> None:
        self.calls += 1
        if self.broken:
            raise RuntimeError("the mail relay is on fire")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


def _app(database_url: str, mail: RecordingSender, *handlers: object) -> Harness:
    providers = [
        overriding(EmailSender, mail),
        overriding(Backoff, BACKOFF),
        overriding(RunnerRules, RunnerRules(poll=0.05)),
        overriding(RelayRules, RelayRules(idle_delay=0.02)),
    ]
    if handlers:
        providers.append(overriding(EventHandlers, EventHandlers(tuple(handlers))))  # type: ignore[arg-type]
    return Harness(harness_settings(database_url), *providers, start=T0)


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time limit"
        await asyncio.sleep(0.02)


async def _jobs(app: Harness, status: JobStatus | None = None) -> list[tuple[str, JobStatus, int]]:
    async with app.use(ListJobs) as list_jobs:
        page = await list_jobs(ListJobsCommand(actor=ADMIN, status=status, size=100))
    return [(job.name, job.status, job.attempts) for job in page.items]


async def test_each_registration_gets_its_welcome_email_from_the_process_itself(database_url: str) -> None:
    mail = RecordingSender()
    async with _app(database_url, mail) as app, in_process_jobs(app.container):
        for n in range(3):
            await app.register(RegisterUserCommand(email=f"u{n}@example.com", password=PASSWORD))

        async def all_done() -> bool:
            return await _jobs(app, JobStatus.SUCCEEDED) == [("user.registered", JobStatus.SUCCEEDED, 1)] * 3

        await _eventually(all_done)
    assert sorted(message.to for message in mail.sent) == [f"u{n}@example.com" for n in range(3)]


async def test_a_failing_job_retries_then_is_a_dead_letter_until_an_admin_retries_it(database_url: str) -> None:
    mail, broken = RecordingSender(), Broken()
    async with _app(database_url, mail, broken) as app, in_process_jobs(app.container):
        await app.register(RegisterUserCommand(email="ada@example.com", password=PASSWORD))
        await _eventually(lambda: _has(app, JobStatus.QUEUED, attempts=1))
        assert broken.calls == 1
        app.clock.advance(BACKOFF.cap)  # the retry falls due
        await _eventually(lambda: _has(app, JobStatus.FAILED, attempts=2))
        [dead] = await _jobs(app, JobStatus.FAILED)
        app.clock.advance(timedelta(hours=1))
        await asyncio.sleep(0.2)
        assert broken.calls == 2  # a dead letter is not run again by itself
        broken.broken = False
        async with app.use(ListJobs) as list_jobs:
            [job] = (await list_jobs(ListJobsCommand(actor=ADMIN, status=JobStatus.FAILED))).items
        async with app.use(RetryJob) as retry:
            queued = await retry(RetryJobCommand(actor=ADMIN, job_id=job.id))
        assert (queued.status, queued.attempts) == (JobStatus.QUEUED, 0)
        await _eventually(lambda: _has(app, JobStatus.SUCCEEDED, attempts=1))
        assert broken.calls == 3 and dead == ("user.registered", JobStatus.FAILED, 2)


async def _has(app: Harness, status: JobStatus, *, attempts: int) -> bool:
    return await _jobs(app) == [("user.registered", status, attempts)]


async def test_leaving_stops_the_loops_and_a_later_process_finishes_the_work(database_url: str) -> None:
    mail = RecordingSender()
    async with _app(database_url, mail) as app:
        async with in_process_jobs(app.container):
            pass
        await app.register(RegisterUserCommand(email="ada@example.com", password=PASSWORD))
        await asyncio.sleep(0.2)
        assert mail.sent == []  # nothing runs once the context is left
        async with in_process_jobs(app.container):
            await _eventually(lambda: _has(app, JobStatus.SUCCEEDED, attempts=1))
    assert [message.to for message in mail.sent] == ["ada@example.com"]
