"""The worker killed with SIGKILL while it has jobs in flight, seen as an operator sees it.

The jobs issue's own test (tests/e2e/test_worker.py) covers the effects (each e-mail sent
once in effect); this one checks that the operational view tells the truth meanwhile:
``GET /api/v1/jobs`` lists the interrupted jobs as running (nobody finished them) until a
new worker runs them again (arq gives a dead worker's job to another once its in-progress
mark expires: job timeout + margin + 10 s), ``/metrics`` agrees with it, and the API's
readiness stays 200: it depends on the database and Redis, never on a worker. Requests
meanwhile all succeed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from tests.faults.metrics import scrape
from tests.faults.operations import ADMIN_EMAIL, admin_jobs, creating_admin, directories, eventually, readiness
from tests.faults.traffic import Traffic, assert_every_request_answered, log_in, sign_up
from tests.support.server import serve_process
from tests.support.worker import RedisServer, SmtpSink, portside_workers, worker_environment

USERS = 3
"""Registrations made before the worker starts; with the admin's, each is a welcome job."""


async def test_a_worker_killed_with_jobs_in_flight_leaves_the_jobs_view_truthful(
    pg_url: str, redis_server: RedisServer, sink: tuple[SmtpSink, str], tmp_path: Path
) -> None:
    mail, smtp_url = sink
    mail.hold_every = True  # each welcome job waits at the SMTP server: in flight
    serve_dir, work_dir = directories(tmp_path, "serve", "work")
    admin_made = creating_admin(pg_url, serve_dir)
    # arq runs a dead worker's job again after job timeout + margin + 10 s: 3 s keeps that short.
    environment = worker_environment(
        pg_url, redis_server.url, work_dir, PORTSIDE_SMTP_URL=smtp_url, PORTSIDE_JOB_TIMEOUT="3"
    )
    emails = [ADMIN_EMAIL] + [f"user{n}@example.com" for n in range(USERS)]
    with serve_process(pg_url, serve_dir, PORTSIDE_REDIS_URL=redis_server.url, PORTSIDE_RATE_LIMITS="off") as served:
        async with asyncio.timeout(75), httpx.AsyncClient(base_url=served.base, timeout=10) as client:
            await admin_made
            admin = await log_in(client, ADMIN_EMAIL)
            for email in emails[1:]:
                await sign_up(client, email)
            traffic = Traffic(client, await log_in(client, emails[1]), clients=1, pause=0.1)
            stop = asyncio.Event()
            running = asyncio.create_task(traffic.run(stop))
            try:
                with portside_workers(environment, work_dir) as [first]:
                    await eventually(_held(mail, len(emails)), 30, f"{len(emails)} jobs in flight")
                    first.kill()
                    killed_at = time.monotonic()
                mail.release.set()  # the dead worker's SMTP sessions end; nothing was sent

                jobs = await admin_jobs(client, admin)
                assert sorted((job["status"], job["attempts"]) for job in jobs) == [("running", 1)] * len(emails)
                assert await readiness(client, database="ok", redis="ok")()  # the API does not need a worker
                in_flight = await scrape(client)

                await asyncio.sleep(1.0)  # a live worker would have finished them by now
                jobs = await admin_jobs(client, admin)
                assert {job["status"] for job in jobs} == {"running"}, jobs  # still nobody finished them

                with portside_workers(environment, work_dir) as [_second]:
                    await eventually(_all_succeeded(client, admin, len(emails)), 40, "the jobs ran again")
                print(f"\nworker killed: its jobs ran again {time.monotonic() - killed_at:.1f} s after the kill")
            finally:
                stop.set()
                await running
            print(traffic.summary())

            jobs = await admin_jobs(client, admin)
            assert sorted((job["status"], job["attempts"]) for job in jobs) == [("succeeded", 2)] * len(emails)
            assert sorted(to for _, to in mail.deliveries) == sorted(emails)  # one welcome each, none lost
            assert_every_request_answered(traffic.outcomes, within=5)
            assert set(traffic.by_status()) <= {200, 201}, traffic.summary()
            await traffic.verify_everything_acknowledged_is_there()

            # Metrics (issue 14's /metrics): they must tell the same story.
            done = await scrape(client)
            done.require("portside_jobs", "portside_http_requests_total")
            assert in_flight.value("portside_jobs", status="running") == len(emails)
            assert in_flight.value("portside_jobs", status="succeeded") == 0
            assert done.value("portside_jobs", status="running") == 0
            assert done.value("portside_jobs", status="succeeded") == len(emails)
            assert done.value("portside_http_requests_total", status="500") == 0


def _held(mail: SmtpSink, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return mail.held >= count

    return check


def _all_succeeded(client: httpx.AsyncClient, admin: dict[str, str], count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        jobs = await admin_jobs(client, admin)
        return len(jobs) == count and all(job["status"] == "succeeded" for job in jobs)

    return check
