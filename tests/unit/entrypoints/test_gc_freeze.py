"""``gc.freeze()`` happens at the process edge (the server's ASGI factory), never in ``create_app``."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from entrypoints.http.app import create_app
from tests.support.settings import test_settings

# Run in a child process: the factory freezes the heap and configures logging for the
# whole process, which must not leak into the tests that share this one.
_FACTORY_PROBE = """
import asyncio, gc
from entrypoints.http.asgi import app_factory

async def main() -> None:
    app = app_factory()
    before = gc.get_freeze_count()
    async with app.lifespan():
        during = gc.get_freeze_count()
    print("freeze-counts", before, during)

asyncio.run(main())
"""


async def test_create_app_leaves_the_garbage_collector_alone(sqlite_url: str) -> None:
    before = gc.get_freeze_count()
    app = create_app(test_settings(sqlite_url))
    async with app.lifespan():
        assert gc.get_freeze_count() == before
    assert gc.get_freeze_count() == before


def test_the_server_factory_freezes_the_heap_once_started(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PORTSIDE_")},
        "PORTSIDE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
        "PORTSIDE_VAR_DIR": str(tmp_path),
        "PORTSIDE_LOG_LEVEL": "warning",
    }
    result = subprocess.run(
        [sys.executable, "-c", _FACTORY_PROBE], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    [counts] = [line for line in result.stdout.splitlines() if line.startswith("freeze-counts ")]
    before, during = map(int, counts.split()[1:])
    assert before == 0
    assert during > 0
