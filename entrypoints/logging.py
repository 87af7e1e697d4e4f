"""structlog for the whole process: JSON in production, readable in development.

Only explicit fields are logged. Nothing here ever logs a request or response body, a
password, a token or an ``Authorization`` header.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, TextIO

import msgspec
import structlog

from entrypoints.settings import Settings

__all__ = ["RedactQueryTokens", "configure_logging"]

_encoder = msgspec.json.Encoder()


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
    structlog.configure(
        processors=[*shared, *final],
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
