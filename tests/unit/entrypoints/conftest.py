"""Fixtures of the entrypoint tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TextIO

import pytest
import structlog

from entrypoints.logging import configure_logging
from entrypoints.settings import Settings


@pytest.fixture
def main_logging_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``main()`` configures process-wide logging: put it back for the tests that follow. Its
    loggers are not cached on first use here: a module's logger (the Bot API client's, say)
    would keep writing to this test's captured output, closed once the test ends."""

    def configure_uncached(settings: Settings, stream: TextIO | None = None) -> None:
        configure_logging(settings, stream)
        structlog.configure(cache_logger_on_first_use=False)

    monkeypatch.setattr("entrypoints.cli.configure_logging", configure_uncached)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
