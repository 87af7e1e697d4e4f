"""Settings for tests: fast hashing, a fixed secret, no access log noise."""

from __future__ import annotations

import dataclasses
from typing import Any

from entrypoints.settings import Settings

TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


def test_settings(database_url: str, **overrides: Any) -> Settings:
    base = Settings(
        database_url=database_url,
        jwt_secret=TEST_SECRET,
        argon2_memory_kib=1024,
        argon2_iterations=1,
        access_log=False,
        db_pool_size=5,
        rate_limits=False,
    )
    return dataclasses.replace(base, **overrides)


test_settings.__test__ = False  # type: ignore[attr-defined]  # a builder, not a test
