"""Settings for tests: the testing harness's (fast hashing, no access log noise, no rate
limits) with this suite's fixed secret."""

from __future__ import annotations

from typing import Any

from entrypoints.settings import Settings
from entrypoints.testing.harness import harness_settings

TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


def test_settings(database_url: str, **overrides: Any) -> Settings:
    return harness_settings(database_url, **{"jwt_secret": TEST_SECRET, **overrides})


test_settings.__test__ = False  # type: ignore[attr-defined]  # a builder, not a test
