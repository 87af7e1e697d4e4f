"""The access line written straight to the stream (JSON format) says what structlog's chain
would have said; any other configuration goes through structlog."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from entrypoints.logging import FLUSH_AFTER, access_line, configure_logging
from tests.support.settings import test_settings

FIELDS: dict[str, Any] = {"method": "GET", "path": "/api/v1/todos/{todo_id:uuid}", "status": 200, "duration_ms": 1.25}


@pytest.fixture
def stream() -> Iterator[io.TextIOWrapper]:
    """A stream for ``configure_logging``; the process's logging set back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    try:
        yield out
    finally:
        root.handlers[:], root.level = handlers, level
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()


def _lines(out: io.TextIOWrapper) -> list[dict[str, Any]]:
    raw = out.buffer.getvalue()  # type: ignore[attr-defined]
    return [json.loads(line) for line in raw.splitlines()]


def test_the_direct_line_matches_the_chains(stream: io.TextIOWrapper) -> None:
    configure_logging(test_settings("memory://", log_format="json", log_level="INFO"), stream)
    structlog.contextvars.bind_contextvars(request_id="req-42", trace_id="ab" * 16)

    access_line(**FIELDS)
    structlog.get_logger("portside.access").info("request", **FIELDS)

    direct, chained = _lines(stream)
    assert direct.pop("timestamp").endswith("Z") and chained.pop("timestamp").endswith("Z")
    assert (
        direct
        == chained
        == {**FIELDS, "event": "request", "level": "info", "request_id": "req-42", "trace_id": "ab" * 16}
    )


def test_above_info_no_access_line_is_written(stream: io.TextIOWrapper) -> None:
    configure_logging(test_settings("memory://", log_format="json", log_level="WARNING"), stream)

    access_line(**FIELDS)

    assert _lines(stream) == []


def test_the_console_format_and_captured_logs_go_through_structlog(stream: io.TextIOWrapper) -> None:
    configure_logging(test_settings("memory://", log_format="json", log_level="INFO"), stream)
    with structlog.testing.capture_logs() as captured:
        access_line(**FIELDS)
    assert captured == [{**FIELDS, "event": "request", "log_level": "info"}]
    assert _lines(stream) == []

    configure_logging(test_settings("memory://", log_format="console", log_level="INFO"), stream)
    access_line(**FIELDS)
    text = stream.buffer.getvalue().decode()  # type: ignore[attr-defined]
    assert "request" in text and "/api/v1/todos/{todo_id:uuid}" in text and "{" not in text.split("request")[0]


async def test_on_a_loop_the_line_is_flushed_within_the_flush_delay() -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8")  # type: ignore[arg-type]
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging(test_settings("memory://", log_format="json", log_level="INFO"), out)
        access_line(**FIELDS)
        assert raw.getvalue() == b""  # held in the buffer: no write per request

        await asyncio.sleep(FLUSH_AFTER + 0.1)

        assert json.loads(raw.getvalue())["path"] == FIELDS["path"]
        access_line(**FIELDS)
        logging.getLogger("portside.test").warning("a line of another kind")
        lines = raw.getvalue().splitlines()
        assert len(lines) == 3 and b"a line of another kind" in lines[2]  # it flushed the access line, in order
    finally:
        root.handlers[:], root.level = handlers, level
        structlog.reset_defaults()
