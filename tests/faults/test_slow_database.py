"""A slow database (``pg_sleep`` before every statement, tests/faults/slow_database.py):
requests that need it give up with 503 and ``Retry-After`` within a bound instead of
piling up, the event loop stays responsive meanwhile (``/health`` is timed throughout),
and once the database is fast again every request succeeds, on the same app.

The app runs in-process (as in tests/http), so the test can replace its engine with one
whose statement timeout is one second instead of the 30 s ``create_engine`` sets.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from entrypoints.container import build_container
from entrypoints.http.app import create_app, http_providers
from tests.faults.slow_database import Slowness, slow_database
from tests.faults.traffic import (
    API,
    PASSWORD,
    Timeline,
    Traffic,
    assert_every_request_answered,
    assert_unavailable_is_a_problem_with_retry_after,
    assert_unavailable_only_during_the_fault,
    percentiles,
    recovery_seconds,
    sign_up,
)
from tests.http.helpers import assert_problem
from tests.support.settings import test_settings

STATEMENT_TIMEOUT = 1.0
SLOW = 2.5
"""Seconds the database stays slow."""
BEFORE, AFTER = 1.0, 6.5
"""Seconds of traffic before the slowness and after it."""
POOL = 4


async def test_a_slow_database_answers_503_within_a_bound_and_the_event_loop_stays_responsive(pg_url: str) -> None:
    slowness = Slowness()
    settings = test_settings(pg_url, db_pool_size=POOL)
    container = build_container(settings, *http_providers(), slow_database(slowness, STATEMENT_TIMEOUT))
    transport = httpx.ASGITransport(app=create_app(settings, container))  # type: ignore[arg-type]  # an ASGI app
    try:
        async with (
            asyncio.timeout(60),
            httpx.AsyncClient(transport=transport, base_url="http://portside", timeout=10) as client,
            httpx.AsyncClient(transport=transport, base_url="http://portside", timeout=10) as probe,
        ):
            user = await sign_up(client, "ada@example.com")
            timeline = Timeline()
            traffic = Traffic(client, user, clients=POOL)
            stop = asyncio.Event()
            running = asyncio.create_task(traffic.run(stop))
            health: list[float] = []
            try:
                await asyncio.sleep(BEFORE)
                slowness.seconds = 5 * SLOW  # far past the statement timeout: every statement gives up
                timeline.fault()
                deadline = time.monotonic() + SLOW
                while time.monotonic() < deadline:
                    started = time.monotonic()
                    response = await probe.get("/health")
                    health.append(time.monotonic() - started)
                    assert response.status_code == 200
                    await asyncio.sleep(0.01)
                slowness.seconds = 0
                timeline.back()
                await asyncio.sleep(AFTER)
            finally:
                stop.set()
                await running
            await traffic.verify_everything_acknowledged_is_there()  # by the same app, fast again
    finally:
        await container.close()

    p50, p99, worst = percentiles(health)
    print(
        f"\nslow database: /health p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {worst * 1000:.1f} ms "
        f"over {len(health)} calls; failures ended {recovery_seconds(traffic.outcomes, timeline):.2f} s after;",
        traffic.summary(),
        f"slowest request {max(o.seconds for o in traffic.outcomes):.2f} s",
    )
    assert worst < 1.0, f"/health took {worst:.2f} s while the database was slow"
    # A request runs a few statements, each bounded; one waits for a pooled connection at most
    # as long as another request holds it.
    assert_every_request_answered(traffic.outcomes, within=6 * STATEMENT_TIMEOUT)
    assert_unavailable_is_a_problem_with_retry_after(traffic.outcomes)
    # A statement the driver gave up on is cancelled on the server by a separate request; on
    # a loaded machine (the whole suite in parallel) that can take a few timeouts more.
    assert_unavailable_only_during_the_fault(traffic.outcomes, timeline, grace=2 + 3 * STATEMENT_TIMEOUT)
    refused = [o for o in traffic.outcomes if o.status == 503 and o.route != "/health/ready"]
    assert len(refused) >= POOL, traffic.summary()  # the slowness was felt, or this proves nothing


async def test_a_statement_the_server_cancels_for_its_own_statement_timeout_is_503_too(pg_url: str) -> None:
    """Operators often set ``statement_timeout`` on the database role: PostgreSQL then cancels
    a slow statement itself (SQLSTATE 57014), which is the database being unavailable for
    now, like the driver's own timeout, not a bug of the request (500)."""
    slowness = Slowness()
    settings = test_settings(pg_url, db_pool_size=2)
    # The server's timeout bounds every statement, the sign-up's too: with 0.2 s a commit's
    # WAL flush on a loaded CI machine once took longer, and the sign-up was refused.
    container = build_container(settings, *http_providers(), slow_database(slowness, STATEMENT_TIMEOUT, on_server=True))
    transport = httpx.ASGITransport(app=create_app(settings, container))  # type: ignore[arg-type]  # an ASGI app
    try:
        async with asyncio.timeout(30), httpx.AsyncClient(transport=transport, base_url="http://portside") as client:
            user = await sign_up(client, "ada@example.com")
            created = await client.post(f"{API}/todos", json={"title": "Before"}, headers=user)
            assert created.status_code == 201, created.text
            slowness.seconds = 2 * STATEMENT_TIMEOUT
            refused = [
                await client.get(created.headers["Location"], headers=user),
                await client.post(f"{API}/todos", json={"title": "Slow"}, headers=user),
                await client.post(f"{API}/auth/login", json={"email": "ada@example.com", "password": PASSWORD}),
            ]
            slowness.seconds = 0
            for response in refused:
                body = assert_problem(response, 503)
                assert body["type"] == "urn:portside:problem:dependency-unavailable"
                assert int(response.headers["retry-after"]) >= 1
            listed = await client.get(f"{API}/todos", headers=user)
            assert listed.status_code == 200 and [t["title"] for t in listed.json()["items"]] == ["Before"]
    finally:
        await container.close()
