"""The lockout against a real ``portside serve`` with two worker processes, on both databases."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import portside_serve

API = "/api/v1"
EMAIL = "ada@example.com"
PASSWORD = "a-sturdy-passphrase-42"
THRESHOLD = 5


@pytest.fixture
def server(any_database_url: str, tmp_path: Path) -> Iterator[str]:
    with portside_serve(
        any_database_url,
        tmp_path,
        PORTSIDE_WORKERS="2",
        PORTSIDE_RATE_LIMITS="off",  # the per-client throttle would answer 429 first; this is about the lockout
        PORTSIDE_LOCKOUT_THRESHOLD=str(THRESHOLD),
    ) as base:
        yield base


async def test_a_burst_of_wrong_passwords_across_two_processes_checks_only_threshold(server: str) -> None:
    limits = httpx.Limits(max_connections=30, max_keepalive_connections=0)  # a connection each: both workers serve
    async with httpx.AsyncClient(base_url=server, limits=limits, timeout=30) as client:
        registered = await client.post(f"{API}/auth/register", json={"email": EMAIL, "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        wrong = {"email": EMAIL, "password": "not-the-passphrase"}
        responses = await asyncio.gather(*(client.post(f"{API}/auth/login", json=wrong) for _ in range(30)))
        assert Counter(r.status_code for r in responses) == {401: THRESHOLD, 429: 30 - THRESHOLD}
        right = await client.post(f"{API}/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert right.status_code == 429
        assert int(right.headers["retry-after"]) > 0
