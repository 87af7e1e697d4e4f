"""The whole app on the in-memory profile, through the harness, fresh for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from entrypoints.testing.harness import Harness
from tests.support.builders import a_harness


@pytest.fixture
def settings_changes() -> dict[str, Any]:
    """Override in a module to change the harness's settings for its tests."""
    return {}


@pytest.fixture
async def app(settings_changes: dict[str, Any]) -> AsyncIterator[Harness]:
    async with a_harness(**settings_changes) as harness:
        yield harness
