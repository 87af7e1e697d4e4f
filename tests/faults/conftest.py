"""Fault tests: real ``portside serve`` and ``portside worker`` processes, and a private
Redis or PostgreSQL server that the test stops, restarts or slows down. The shared servers
every other test uses are never touched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.worker import RedisServer, SmtpSink, private_redis, smtp_sink


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    directory = tmp_path / "redis"
    directory.mkdir()
    with private_redis(directory) as server:
        yield server


@pytest.fixture
def sink() -> Iterator[tuple[SmtpSink, str]]:
    with smtp_sink() as pair:
        yield pair
