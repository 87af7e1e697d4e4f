"""Which cache a process gets without Redis: its own memory only when no other process can
write the data it caches."""

from __future__ import annotations

import pytest

from adapters.memory.cache import InMemoryCache, NoCache
from application.shared.cache import Cache
from entrypoints.container import build_container
from entrypoints.settings import MEMORY_DATABASE_URL
from tests.support.settings import test_settings


@pytest.mark.parametrize(
    ("database_url", "workers", "kind"),
    [
        (MEMORY_DATABASE_URL, 1, InMemoryCache),
        ("sqlite+aiosqlite:///./var/portside.db", 1, InMemoryCache),
        ("sqlite+aiosqlite:///./var/portside.db", 2, NoCache),
        ("postgresql+asyncpg://postgres@127.0.0.1/portside", 1, NoCache),  # replicas may share it
    ],
)
async def test_without_redis(database_url: str, workers: int, kind: type[Cache]) -> None:
    container = build_container(test_settings(database_url, workers=workers))
    try:
        assert type(await container.get(Cache)) is kind
    finally:
        await container.close()
