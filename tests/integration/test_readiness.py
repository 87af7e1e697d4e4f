"""/health/ready asks the real dependencies."""

from __future__ import annotations

from tests.http.conftest import running_api
from tests.support.services import sqlalchemy_url
from tests.support.settings import test_settings


async def test_ready_with_postgres_and_redis(pg_url: str, redis_url: str) -> None:
    async with running_api(test_settings(pg_url, redis_url=redis_url)) as api:
        response = await api.client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


async def test_not_ready_when_redis_does_not_answer(pg_url: str) -> None:
    async with running_api(test_settings(pg_url, redis_url="redis://127.0.0.1:1/0")) as api:
        response = await api.client.get("/health/ready")
        live = await api.client.get("/health")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "ok", "redis": "down"}}
    assert live.status_code == 200


async def test_not_ready_when_the_database_does_not_answer() -> None:
    async with running_api(test_settings(sqlalchemy_url("portside_no_such_database"))) as api:
        response = await api.client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "down", "redis": "disabled"}


async def test_redis_is_disabled_and_the_process_ready_without_it(sqlite_url: str) -> None:
    async with running_api(test_settings(sqlite_url)) as api:
        response = await api.client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "disabled"}}
