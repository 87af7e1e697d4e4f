"""structlog for the whole process: JSON in production, readable in development.

Only explicit fields are logged. Nothing here ever logs a request or response body, a
password, a token or an ``Authorization`` header.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any, TextIO

import msgspec
import structlog

from entrypoints.settings import Settings

__all__ = ["RedactQueryTokens", "access_line", "configure_logging"]

_encoder = msgspec.json.Encoder()
_direct: tuple[Any, IO[bytes]] | None = None
"""(the processors ``configure_logging`` installed, the stream) when access lines may skip
structlog's chain: JSON format at level INFO or below."""
FLUSH_AFTER = 0.2
"""Seconds an access line may wait in the stream's buffer (a full buffer, or any other log
line, flushes it sooner)."""
_flush_loop: asyncio.AbstractEventLoop | None = None
"""The loop a flush of the access lines is scheduled on, if any."""


def _serialize(value: Any, **_: Any) -> bytes:
    return _encoder.encode(value)


class RedactQueryTokens(logging.Filter):
    """``?token=`` (the WebSocket's access token, API.md "Realtime") never reaches a log
    line: uvicorn logs each WebSocket's path with its query string."""

    _TOKEN = re.compile(r"(token=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message:
            record.msg, record.args = self._TOKEN.sub(r"\1[redacted]", message), None
        return True


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Log lines go to ``stream`` (stdout unless given: a command that prints a document
    on stdout sends them to stderr)."""
    out = stream if stream is not None else sys.stdout
    level = logging.getLevelNamesMapping()[settings.log_level]
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Tracebacks never carry local variables: a frame's locals can hold a password or a token.
    if settings.log_format == "json":
        renderer: Any = structlog.processors.JSONRenderer(serializer=_serialize)
        tracebacks = structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        )
        final: list[Any] = [tracebacks, renderer]
        factory: Any = structlog.BytesLoggerFactory(out.buffer)
    else:
        console = structlog.dev.ConsoleRenderer(colors=out.isatty(), exception_formatter=structlog.dev.plain_traceback)
        final = [console]
        factory = structlog.PrintLoggerFactory(out)
    global _direct
    processors = [*shared, *final]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    # Libraries log through the standard library: send them through the same renderer.
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final[-1:]]
            if settings.log_format == "console"
            else [structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.JSONRenderer()],
        )
    )
    handler.addFilter(RedactQueryTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access",):  # we write our own access line
        logging.getLogger(noisy).disabled = True
    _direct = (_snapshot(), out.buffer) if settings.log_format == "json" and level <= logging.INFO else None


def _snapshot() -> tuple[Any, ...]:
    """What of structlog's configuration decides where a line goes and whether it is kept."""
    config = structlog.get_config()
    return list(config["processors"]), config["wrapper_class"], config["logger_factory"]


def access_line(**fields: Any) -> None:
    """Log one request (``event: "request"`` and ``fields``) at INFO.

    In the JSON format ``configure_logging`` installed, the line is written straight to the
    stream with what the processor chain would add (the bound context, level, timestamp):
    the chain cost a few percent of a small request's CPU (README, Performance). It is not
    flushed at once but within ``FLUSH_AFTER`` seconds on the running loop (a write system
    call per request cost about a sixth of ``/health``'s throughput); other log lines share
    the buffer and flush it in order. Any other configuration, ``structlog.testing.capture_logs``
    included, gets it through structlog.
    """
    direct = _direct
    # Compared by content: structlog.testing.capture_logs swaps the processors in place.
    if direct is None or _snapshot() != direct[0]:
        # A fresh proxy: a cached one would keep the configuration of its first use.
        structlog.get_logger("portside.access").info("request", **fields)
        return
    line: dict[str, Any] = {**fields, "event": "request"}
    for key, value in structlog.contextvars.get_contextvars().items():  # as merge_contextvars does
        line.setdefault(key, value)
    line["level"] = "info"
    line["timestamp"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    stream = direct[1]
    stream.write(_encoder.encode(line) + b"\n")
    _flush_soon(stream)


def _flush_soon(stream: IO[bytes]) -> None:
    global _flush_loop
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop: nothing would run the flush later
        stream.flush()
        return
    if _flush_loop is not loop:
        _flush_loop = loop
        loop.call_later(FLUSH_AFTER, _flush, stream)


def _flush(stream: IO[bytes]) -> None:
    global _flush_loop
    _flush_loop = None
    stream.flush()
