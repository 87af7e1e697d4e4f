"""structlog for the whole process: JSON in production, readable in development.

Only explicit fields are logged. Nothing here ever logs a request or response body, a
password, a token or an ``Authorization`` header.
"""

from __future__ import annotations

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
    _direct = (list(processors), out.buffer) if settings.log_format == "json" and level <= logging.INFO else None


def access_line(**fields: Any) -> None:
    """Log one request (``event: "request"`` and ``fields``) at INFO.

    In the JSON format ``configure_logging`` installed, the line is written straight to the
    stream with what the processor chain would add (the bound context, level, timestamp):
    the chain cost a few percent of a small request's CPU (README, Performance). Any other
    configuration, ``structlog.testing.capture_logs`` included, gets it through structlog.
    """
    direct = _direct
    # Compared by content: structlog.testing.capture_logs swaps the processors in place.
    if direct is None or structlog.get_config()["processors"] != direct[0]:
        # A fresh proxy: a cached one would keep the configuration of its first use.
        structlog.get_logger("portside.access").info("request", **fields)
        return
    line = structlog.contextvars.get_contextvars()
    line.update(fields)
    line["event"] = "request"
    line["level"] = "info"
    line["timestamp"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    stream = direct[1]
    stream.write(_encoder.encode(line) + b"\n")
    stream.flush()
