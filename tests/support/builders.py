"""Small builders for tests: the reference instant, fast hashing, and the app on a harness."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from dishka import Provider

from adapters.memory.database import InMemoryDatabase
from adapters.security.argon2_hasher import Argon2Parameters
from entrypoints.settings import MEMORY_DATABASE_URL
from entrypoints.testing.harness import Harness, harness_settings

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
FAST_ARGON2 = Argon2Parameters(memory_kib=1024, iterations=1, lanes=1)


def a_harness(
    *providers: Provider,
    database_url: str = MEMORY_DATABASE_URL,
    database: InMemoryDatabase | None = None,
    **settings: Any,
) -> Harness:
    """The whole app as ``build_container`` wires it, its clock at ``T0``; ``settings``
    change ``harness_settings()`` (``lockout_threshold=3``), ``providers`` replace adapters."""
    return Harness(harness_settings(database_url, **settings), *providers, start=T0, database=database)


def with_settings(**changes: Any) -> pytest.MarkDecorator:
    """Give the test's ``app`` fixture these settings (it reads the ``settings_changes`` fixture)."""
    label = ",".join(f"{name}={value}" for name, value in changes.items()) or "default settings"
    return pytest.mark.parametrize("settings_changes", [changes], ids=[label])
