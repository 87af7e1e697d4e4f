"""PostgreSQL restarted under traffic (a private cluster, stopped with ``pg_ctl -m fast``
and started again a moment later): while it is down every request that needs it answers
503 with ``Retry-After`` at once (never 500, never a hang), readiness says so, and once it
is back the same ``serve`` process answers every request from its pool again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from entrypoints.migrations import migrate
from tests.faults.metrics import scrape
from tests.faults.operations import alive, eventually, readiness
from tests.faults.traffic import (
    Timeline,
    Traffic,
    assert_every_request_answered,
    assert_unavailable_is_a_problem_with_retry_after,
    assert_unavailable_only_during_the_fault,
    recovery_seconds,
    sign_up,
)
from tests.support.postgres import PostgresCluster, private_postgres
from tests.support.server import serve_process

BEFORE, AFTER = 1.5, 3.0
"""Seconds of traffic before the fault, and after the recovery."""
DOWN = 2.0
"""Seconds the server stays down."""


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    with private_postgres() as cluster:
        yield cluster


async def test_a_postgres_restart_under_traffic_answers_503_then_recovers_without_restarting_portside(
    cluster: PostgresCluster, tmp_path: Path
) -> None:
    url = await cluster.create_database("portside")
    await migrate(url)
    with serve_process(url, tmp_path, PORTSIDE_RATE_LIMITS="off", PORTSIDE_DB_POOL_SIZE="5") as served:
        async with asyncio.timeout(60), httpx.AsyncClient(base_url=served.base, timeout=10) as client:
            user = await sign_up(client, "ada@example.com")
            timeline = Timeline()
            traffic = Traffic(client, user, clients=4)
            stop = asyncio.Event()
            running = asyncio.create_task(traffic.run(stop))
            try:
                await asyncio.sleep(BEFORE)
                timeline.fault()
                await asyncio.to_thread(cluster.stop, "fast")
                down = await client.get("/health/ready")
                assert down.status_code == 503 and down.json()["checks"]["database"] == "down", down.text
                await asyncio.sleep(DOWN)
                await asyncio.to_thread(cluster.start)
                timeline.back()
                waited = await eventually(readiness(client, database="ok"), 10, "readiness back to 200")
                await asyncio.sleep(AFTER)
            finally:
                stop.set()
                await running
            print(
                f"\npostgres back: ready after {waited:.2f} s, "
                f"failures ended {recovery_seconds(traffic.outcomes, timeline):.2f} s after;",
                traffic.summary(),
            )

            assert_every_request_answered(traffic.outcomes, within=5)
            assert_unavailable_is_a_problem_with_retry_after(traffic.outcomes)
            assert_unavailable_only_during_the_fault(traffic.outcomes, timeline, grace=2)
            refused = [o for o in traffic.outcomes if o.status == 503 and o.route != "/health/ready"]
            assert len(refused) >= 5, traffic.summary()  # the outage was seen, or this proves nothing
            await traffic.verify_everything_acknowledged_is_there()
            assert alive(served.pid)  # the same process: nobody restarted portside

            # Metrics (issue 14's /metrics): they must tell the same story.
            figures = await scrape(client)
            figures.require("portside_http_requests_total", "portside_db_pool_connections")
            assert figures.value("portside_http_requests_total", status="500") == 0
            assert figures.value("portside_http_requests_total", status="503") >= len(refused)
            assert figures.value("portside_db_pool_connections", state="waiting") == 0
