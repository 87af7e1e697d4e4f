"""Redis stopped under traffic, then started again (API.md, "Configuration"): no request
fails because of it, rate limits fail open and are counted, the cache is bypassed,
readiness says 503, jobs wait in the outbox, and all of it recovers by itself: the same
``serve`` and ``worker`` processes, nobody restarting anything but Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.faults.metrics import scrape
from tests.faults.operations import ADMIN_EMAIL, admin_jobs, alive, creating_admin, directories, eventually, readiness
from tests.faults.traffic import (
    API,
    PASSWORD,
    Timeline,
    Traffic,
    assert_every_request_answered,
    assert_unavailable_only_during_the_fault,
    log_in,
    recovery_seconds,
    sign_up,
)
from tests.support.server import serve_process
from tests.support.worker import RedisServer, portside_workers, worker_environment

PHASE = 1.5
"""Seconds of traffic before the fault, and after the recovery."""
LOGIN_THROTTLE = 4
"""Logins a client address may make per minute: low, so that failing open shows."""


async def test_redis_down_under_traffic_costs_no_request_and_everything_recovers_by_itself(
    pg_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    serve_dir, work_dir = directories(tmp_path, "serve", "work")
    admin_made = creating_admin(pg_url, serve_dir)
    with (
        portside_workers(worker_environment(pg_url, redis_server.url, work_dir), work_dir) as [worker],
        serve_process(
            pg_url,
            serve_dir,
            PORTSIDE_REDIS_URL=redis_server.url,
            PORTSIDE_LOGIN_THROTTLE=str(LOGIN_THROTTLE),
            PORTSIDE_API_RATE_LIMIT="100000/minute",
        ) as served,
    ):
        async with asyncio.timeout(90), httpx.AsyncClient(base_url=served.base, timeout=10) as client:
            await admin_made
            admin = await log_in(client, ADMIN_EMAIL)
            user = await sign_up(client, "ada@example.com")
            created = await client.post(
                f"{API}/posts",
                json={"title": "Cached page", "content": "Served from Redis, or not.", "published": True},
                headers=user,
            )
            assert created.status_code == 201, created.text
            post = created.headers["Location"]

            async def jobs_done(expected: int) -> bool:
                jobs = await admin_jobs(client, admin)
                return len(jobs) >= expected and all(job["status"] == "succeeded" for job in jobs)

            jobs_before = 2  # the welcome jobs of the admin and of ada (user.registered)
            await eventually(lambda: jobs_done(jobs_before), 30, "the welcome jobs ran before the fault")
            before = await scrape(client)

            timeline = Timeline()
            traffic = Traffic(client, user, reads=[post, f"{API}/posts?size=5", f"{API}/tags"])
            stop = asyncio.Event()
            running = asyncio.create_task(traffic.run(stop))
            try:
                await asyncio.sleep(PHASE)
                timeline.fault()
                redis_server.stop()

                ready = await client.get("/health/ready")
                assert ready.status_code == 503, ready.text
                assert ready.json()["checks"] == {"database": "ok", "redis": "down"}

                # The cache is bypassed: the page is served, and an edit shows at once.
                edited = await client.patch(
                    post, json={"title": "Edited without Redis"}, headers={**user, "If-Match": '"1"'}
                )
                assert edited.status_code == 200, edited.text
                read = await client.get(post, headers=user)
                assert (read.status_code, read.json()["title"], read.json()["version"]) == (
                    200,
                    "Edited without Redis",
                    2,
                )
                listed = await client.get(f"{API}/posts", headers=user)
                assert [p["title"] for p in listed.json()["items"]] == ["Edited without Redis"]

                # Rate limits fail open: more logins than the throttle allows all pass.
                for _ in range(LOGIN_THROTTLE + 2):
                    assert (await client.post(f"{API}/auth/login", json=_login(ADMIN_EMAIL))).status_code == 200

                # Jobs wait: a registration commits, its welcome job does not run.
                late = await client.post(f"{API}/auth/register", json=_login("late@example.com"))
                assert late.status_code == 201, late.text
                await asyncio.sleep(1.5)  # a live queue runs a job in a fraction of that
                waiting = await admin_jobs(client, admin)
                # Listed as queued (recorded, not run) or not listed yet (still in the outbox).
                statuses = sorted(str(job["status"]) for job in waiting)
                assert statuses in (["succeeded"] * jobs_before, ["queued"] + ["succeeded"] * jobs_before), statuses
                during = await scrape(client)

                redis_server.start()  # empty: whatever it held is gone
                timeline.back()
                waited = await eventually(readiness(client, database="ok", redis="ok"), 10, "readiness back to 200")
                ran = await eventually(lambda: jobs_done(jobs_before + 1), 30, "the waiting job ran after the fault")
                print(f"\nredis back: ready after {waited:.2f} s, the waiting job done after {ran:.2f} s")

                # The throttle counts again (in the new Redis): the limit, then 429. After a
                # failure the limiter skips Redis for a second (adapters/redis/rate_limiter.py):
                # let that pass, or the first logins here would go uncounted.
                await asyncio.sleep(1.2)
                for _ in range(LOGIN_THROTTLE):
                    assert (await client.post(f"{API}/auth/login", json=_login(ADMIN_EMAIL))).status_code == 200
                refused = await client.post(f"{API}/auth/login", json=_login(ADMIN_EMAIL))
                assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1, refused.text
                await asyncio.sleep(PHASE)
            finally:
                stop.set()
                await running
            print(traffic.summary(), f"failures ended {recovery_seconds(traffic.outcomes, timeline):.2f} s after")

            assert_every_request_answered(traffic.outcomes, within=5)
            api_unavailable = [str(o) for o in traffic.outcomes if o.status == 503 and o.route != "/health/ready"]
            assert not api_unavailable, api_unavailable[:20]  # Redis down is never the API's 503
            assert_unavailable_only_during_the_fault(traffic.outcomes, timeline, grace=2)
            served_while_down = [o for o in traffic.outcomes if timeline.overlaps_fault(o, 0) and o.status == 200]
            assert len(served_while_down) >= 10, traffic.summary()
            await traffic.verify_everything_acknowledged_is_there()
            assert alive(served.pid) and worker.process.poll() is None  # nobody restarted

            # Metrics (issue 14's /metrics): they must tell the same story.
            after = await scrape(client)
            after.require(
                "portside_rate_limit_failed_open_total",
                "portside_rate_limit_rejections_total",
                "portside_cache_requests_total",
                "portside_http_requests_total",
                "portside_jobs",
            )
            failed_open = "portside_rate_limit_failed_open_total"
            assert during.value(failed_open) >= before.value(failed_open) + LOGIN_THROTTLE + 2
            errors = {"result": "error"}
            assert during.value("portside_cache_requests_total", **errors) > before.value(
                "portside_cache_requests_total", **errors
            )
            assert after.value("portside_cache_requests_total", result="hit") > during.value(
                "portside_cache_requests_total", result="hit"
            ), "the cache was not used again after Redis came back"
            assert after.value("portside_rate_limit_rejections_total") > before.value(
                "portside_rate_limit_rejections_total"
            )
            assert after.value("portside_http_requests_total", status="500") == 0
            jobs = await admin_jobs(client, admin)
            assert after.value("portside_jobs", status="succeeded") == len(jobs)


def _login(email: str) -> dict[str, str]:
    return {"email": email, "password": PASSWORD}
