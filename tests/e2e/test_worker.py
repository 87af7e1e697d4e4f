"""``portside worker`` processes against real PostgreSQL, Redis and SMTP: every committed
event handled once in effect, through two workers at once, a ``kill -9`` in the middle of
a job, and a Redis outage."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from application.identity.register_user import RegisterUserCommand
from application.jobs.list_jobs import ListJobs, ListJobsCommand
from application.shared.actor import Actor
from domain.identity.ids import SessionId
from domain.identity.user import Role
from domain.jobs.job import Job, JobStatus
from domain.shared.ids import UserId
from entrypoints.testing.harness import Harness, harness_settings
from tests.support.server import portside_serve
from tests.support.worker import RedisServer, SmtpSink, portside_workers, private_redis, smtp_sink, worker_environment

PASSWORD = "a-sturdy-passphrase-42"
ADMIN = Actor(user_id=UserId(uuid4()), session_id=SessionId(uuid4()), role=Role.ADMIN)


@pytest.fixture
def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    with private_redis(tmp_path) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def sink() -> AsyncIterator[tuple[SmtpSink, str]]:
    with smtp_sink() as pair:
        yield pair  # type: ignore[misc]


@pytest.fixture
async def app(pg_url: str) -> AsyncIterator[Harness]:
    async with Harness(harness_settings(pg_url)) as harness:
        yield harness


async def _jobs(app: Harness) -> list[Job]:
    jobs: list[Job] = []
    page = 1
    while True:
        async with app.use(ListJobs) as list_jobs:
            result = await list_jobs(ListJobsCommand(actor=ADMIN, page=page, size=100))
        jobs.extend(result.items)
        if page >= result.pages:
            return jobs
        page += 1


async def _eventually(check: Callable[[], object], seconds: float, what: str, logs: Callable[[], str]) -> None:
    deadline = time.monotonic() + seconds
    while True:
        outcome = check()
        if asyncio.iscoroutine(outcome):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s\n{logs()[-4000:]}")
        await asyncio.sleep(0.1)


async def _all_succeeded(app: Harness, count: int) -> bool:
    jobs = await _jobs(app)
    return len(jobs) == count and all(job.status is JobStatus.SUCCEEDED for job in jobs)


async def test_two_workers_handle_every_registration_once(
    app: Harness, pg_url: str, redis_server: RedisServer, sink: tuple[SmtpSink, str], tmp_path: Path
) -> None:
    mail, smtp_url = sink
    environment = worker_environment(pg_url, redis_server.url, tmp_path, PORTSIDE_SMTP_URL=smtp_url)
    with portside_workers(environment, tmp_path, count=2) as workers:
        emails = [f"user{n}@example.com" for n in range(40)]
        for email in emails:
            await app.register(RegisterUserCommand(email=email, password=PASSWORD))

        def logs() -> str:
            return "\n".join(worker.output() for worker in workers)

        await _eventually(lambda: _all_succeeded(app, 40), 60, "40 jobs succeeded", logs)
        await asyncio.sleep(1.0)  # time for any duplicate to show
        assert sorted(to for _, to in mail.deliveries) == sorted(emails)
        assert set(mail.repeats().values()) == {1}
        assert {job.attempts for job in await _jobs(app)} == {1}
        for worker in workers:
            assert worker.terminate() == 0  # SIGTERM: a clean stop
        assert "relay pass failed" not in logs()


@pytest.mark.parametrize("moment", ["before_the_message", "after_the_message"])
async def test_a_worker_killed_mid_job_leaves_one_message_in_the_mailbox(
    app: Harness, pg_url: str, redis_server: RedisServer, sink: tuple[SmtpSink, str], tmp_path: Path, moment: str
) -> None:
    """``kill -9`` while the job talks to the SMTP server: the job runs again (arq delivers
    it again once the dead worker's job times out) and the mailbox holds one message.

    - Before the message (at its first recipient): the server never had it; the rerun
      delivers it once.
    - After the message, before the server's ``250``: the server has it and the worker
      never learned so. The rerun sends it again under the same ``Message-ID``, which a
      mail store keeps once: delivered twice, one message (README, Effects once).
    """
    mail, smtp_url = sink
    if moment == "before_the_message":
        mail.hold_before = True
    else:
        mail.hold = True
    environment = worker_environment(
        pg_url, redis_server.url, tmp_path, PORTSIDE_SMTP_URL=smtp_url, PORTSIDE_JOB_TIMEOUT="3"
    )
    with portside_workers(environment, tmp_path) as [first]:
        await app.register(RegisterUserCommand(email="ada@example.com", password=PASSWORD))
        await _eventually(mail.received.is_set, 30, "the worker at the SMTP server", first.output)
        first.kill()
        mail.release.set()
        [job] = await _jobs(app)
        assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)
    with portside_workers(environment, tmp_path) as [second]:
        await _eventually(lambda: _all_succeeded(app, 1), 40, "the job ran again", second.output)
    [job] = await _jobs(app)
    assert job.attempts == 2  # the interrupted attempt counts
    [(message_id, to)] = mail.mailbox.items()
    assert to == "ada@example.com" and message_id == f"<{job.id}.welcome@portside>"
    assert mail.repeats() == {message_id: 1 if moment == "before_the_message" else 2}


async def test_registrations_while_redis_is_down_are_all_welcomed_once_it_is_back(
    pg_url: str, redis_server: RedisServer, sink: tuple[SmtpSink, str], tmp_path: Path
) -> None:
    mail, smtp_url = sink
    count = 1000
    serve_dir, work_dir = tmp_path / "serve", tmp_path / "work"
    serve_dir.mkdir()
    work_dir.mkdir()
    environment = worker_environment(pg_url, redis_server.url, work_dir, PORTSIDE_SMTP_URL=smtp_url)
    with (
        portside_workers(environment, work_dir) as [worker],
        portside_serve(pg_url, serve_dir, PORTSIDE_REDIS_URL=redis_server.url, PORTSIDE_RATE_LIMITS="off") as base,
    ):
        redis_server.stop()
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
            semaphore = asyncio.Semaphore(16)

            async def register(n: int) -> int:
                async with semaphore:
                    body = {"email": f"user{n}@example.com", "password": PASSWORD}
                    return (await client.post("/api/v1/auth/register", json=body)).status_code

            statuses = await asyncio.gather(*(register(n) for n in range(count)))
        assert set(statuses) == {201}
        assert mail.deliveries == []  # nothing could be queued
        redis_server.start()  # empty: whatever it held is gone
        await _eventually(lambda: len(mail.deliveries) >= count, 120, f"{count} welcome e-mails", worker.output)
        await asyncio.sleep(1.0)
        assert len(mail.deliveries) == count and set(mail.repeats().values()) == {1}
        assert sorted(to for _, to in mail.deliveries) == sorted(f"user{n}@example.com" for n in range(count))


async def test_serve_without_redis_welcomes_each_registration_itself_once(
    any_database_url: str, sink: tuple[SmtpSink, str], tmp_path: Path
) -> None:
    """The embedded profile: two server processes, no Redis, no worker; each process runs
    the relay and the jobs, and every registration gets exactly one welcome."""
    mail, smtp_url = sink
    with portside_serve(
        any_database_url, tmp_path, PORTSIDE_WORKERS="2", PORTSIDE_SMTP_URL=smtp_url, PORTSIDE_RATE_LIMITS="off"
    ) as base:
        limits = httpx.Limits(max_connections=8, max_keepalive_connections=0)  # spread over both processes
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
            for n in range(20):
                body = {"email": f"user{n}@example.com", "password": PASSWORD}
                assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201

        def log() -> str:
            return (tmp_path / "serve.log").read_text(errors="replace")

        await _eventually(lambda: len(mail.deliveries) >= 20, 30, "20 welcome e-mails", log)
        await asyncio.sleep(1.5)  # both processes had time to run anything twice
    assert len(mail.deliveries) == 20 and set(mail.repeats().values()) == {1}
    assert sorted(to for _, to in mail.deliveries) == sorted(f"user{n}@example.com" for n in range(20))
