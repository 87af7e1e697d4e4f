"""``GET /metrics``: what each figure counts, read as deltas (the counters are per process,
and other tests in this process move them too), and ``PORTSIDE_METRICS=off``."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.checkout import lent_connection
from entrypoints.settings import MEMORY_DATABASE_URL
from tests.http.conftest import API, PASSWORD, Api, running_api
from tests.http.test_users_api import admin_token
from tests.support.settings import test_settings

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(api: Api) -> Samples:
    response = await api.client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def todo(api: Api, bearer: dict[str, str]) -> str:
    response = await api.client.post(f"{API}/todos", json={"title": "count me"}, headers=bearer)
    assert response.status_code == 201, response.text
    todo_id: str = response.json()["id"]
    return todo_id


async def test_requests_are_counted_and_timed_by_route_template_and_status(api: Api) -> None:
    bearer = api.bearer((await api.tokens())["access_token"])
    todo_id = await todo(api, bearer)
    route = {"method": "GET", "route": "/api/v1/todos/{todo_id}"}
    before = await scrape(api)
    for _ in range(3):
        assert (await api.client.get(f"{API}/todos/{todo_id}", headers=bearer)).status_code == 200
    missing = await api.client.get(f"{API}/todos/00000000-0000-7000-8000-000000000000", headers=bearer)
    assert missing.status_code == 404
    for path in ("/nowhere/1", "/nowhere/2"):
        assert (await api.client.get(path)).status_code == 404
    after = await scrape(api)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("portside_http_requests_total", **route, status="200") == 3
    assert delta("portside_http_requests_total", **route, status="404") == 1
    assert delta("portside_http_request_duration_seconds_count", **route, status="200") == 3
    assert delta("portside_http_request_duration_seconds_bucket", **route, status="200", le="+Inf") == 3
    # Paths no route has share one series: a client cannot grow the label set.
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    assert delta("portside_http_requests_total", **unmatched) == 2
    assert not any("/nowhere" in str(labels) for _, labels in after)


async def test_failed_logins_and_lockouts_are_counted(pg_url: str) -> None:
    async with running_api(test_settings(pg_url, lockout_threshold=2)) as api:
        await api.register("eve@example.com")
        before = await scrape(api)
        for _ in range(2):
            assert (await api.login("eve@example.com", "not-the-password")).status_code == 401
        assert (await api.login("eve@example.com", PASSWORD)).status_code == 429  # locked
        after = await scrape(api)
        failures = value(after, "portside_login_failures_total") - value(before, "portside_login_failures_total")
        lockouts = value(after, "portside_login_lockouts_total") - value(before, "portside_login_lockouts_total")
        assert (failures, lockouts) == (2, 1)


async def test_jobs_outbox_lag_and_deliveries_are_read_from_the_database(api: Api) -> None:
    admin = await admin_token(api)
    bearer = api.bearer(admin)
    await todo(api, bearer)  # an event waits in the outbox: no relay runs here
    created = await api.client.post(
        f"{API}/campaigns", json={"name": "n", "text": "t", "recipients": [1, 2, 3]}, headers=bearer
    )
    assert created.status_code == 201, created.text
    api.clock.advance(timedelta(seconds=42))
    samples = await scrape(api)
    assert value(samples, "portside_metrics_database_up") == 1
    assert value(samples, "portside_outbox_lag_seconds") == 42
    assert {status: value(samples, "portside_jobs", status=status) for status in ("queued", "running")} == {
        "queued": 0,
        "running": 0,
    }
    assert ("portside_jobs", frozenset({("status", "failed")})) in samples
    assert value(samples, "portside_campaign_deliveries", status="pending", error="") == 3


async def test_the_pool_gauge_returns_to_where_it_was_after_concurrent_requests(api: Api) -> None:
    bearer = api.bearer((await api.tokens())["access_token"])
    todo_id = await todo(api, bearer)
    before = await scrape(api)
    responses = await asyncio.gather(*(api.client.get(f"{API}/todos/{todo_id}", headers=bearer) for _ in range(20)))
    assert {r.status_code for r in responses} == {200}
    after = await scrape(api)
    for state in ("in_use", "waiting"):
        assert value(after, "portside_db_pool_connections", state=state) == value(
            before, "portside_db_pool_connections", state=state
        )
    engine = await api.container.get(AsyncEngine)
    async with lent_connection(engine):  # one connection held while scraping
        held = await scrape(api)
    in_use = {"state": "in_use"}
    assert (
        value(held, "portside_db_pool_connections", **in_use)
        == value(after, "portside_db_pool_connections", **in_use) + 1
    )
    assert value(await scrape(api), "portside_db_pool_connections", **in_use) == value(
        after, "portside_db_pool_connections", **in_use
    )


async def test_cache_hits_and_misses_are_counted() -> None:
    # memory:// runs one process, so it caches in process (PostgreSQL may be shared: no cache).
    async with running_api(test_settings(MEMORY_DATABASE_URL)) as api:
        admin = api.bearer(await admin_token(api))
        created = await api.client.post(
            f"{API}/posts", json={"title": "Cached", "content": "b", "published": True}, headers=admin
        )
        assert created.status_code == 201, created.text
        post = f"{API}/posts/{created.json()['id']}"
        before = await scrape(api)
        for _ in range(3):
            assert (await api.client.get(post)).status_code == 200
        after = await scrape(api)
        hits = value(after, "portside_cache_requests_total", result="hit") - value(
            before, "portside_cache_requests_total", result="hit"
        )
        misses = value(after, "portside_cache_requests_total", result="miss") - value(
            before, "portside_cache_requests_total", result="miss"
        )
        assert (misses, hits) == (1, 2)


async def test_metrics_off_removes_the_endpoint(pg_url: str) -> None:
    async with running_api(test_settings(pg_url, metrics=False)) as api:
        response = await api.client.get("/metrics")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "/metrics" not in (await api.client.get("/openapi.json")).json()["paths"]


async def test_metrics_survive_a_database_that_does_not_answer(pg_url: str) -> None:
    unreachable = "postgresql+asyncpg://postgres@127.0.0.1:1/none"
    async with running_api(test_settings(unreachable)) as api:
        samples = await scrape(api)
        assert value(samples, "portside_metrics_database_up") == 0
        assert not any(name == "portside_jobs" for name, _ in samples)
