"""A client span per SQL statement, from the engine's cursor events."""

from __future__ import annotations

import functools
import re
import time
from typing import Any

import structlog
from opentelemetry.trace import SpanKind, Tracer
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.otel.spans import failed, in_a_trace
from adapters.sql.checkout import on_take
from adapters.sql.connections import pooled_now

__all__ = ["trace_engine"]

_SPAN = "_portside_span"
_log = structlog.get_logger(__name__)
_MAX_STATEMENT = 4096
_KEYWORD = re.compile(r"\s*(\w+)")
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+\"?([A-Za-z_][\w.]*)", re.IGNORECASE)


def trace_engine(engine: AsyncEngine, tracer: Tracer) -> AsyncEngine:
    """Make every statement ``engine`` runs inside a sampled request or job a span, child
    of the current one (SQLAlchemy runs the events in the caller's context), whether it
    goes through SQLAlchemy or, on PostgreSQL, straight to asyncpg (``_DriverStatements``:
    on connections taken by a unit of work or ``lent_connection``; one from
    ``engine.connect()`` gets spans only for what goes through SQLAlchemy). Statements
    outside any sampled span (background polls) are not traced.

    The span is named for the statement's first keyword and first table (``SELECT users``)
    and carries ``db.system`` and ``db.statement``: the statement's text as sent, with
    placeholders, never its parameters (the engine binds every value). A failed statement
    is marked an error with the error's class only (``error.type``).
    """
    system = engine.dialect.name

    def before(_conn: Any, _cursor: Any, statement: str, _parameters: Any, context: Any, _many: bool) -> None:
        if context is None or not in_a_trace():
            return
        operation, name = _summary(statement)
        attributes = {"db.system": system, "db.statement": statement[:_MAX_STATEMENT], "db.operation.name": operation}
        setattr(context, _SPAN, tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes))

    def after(_conn: Any, _cursor: Any, _statement: str, _parameters: Any, context: Any, _many: bool) -> None:
        span = getattr(context, _SPAN, None)
        if span is not None:
            span.end()
            setattr(context, _SPAN, None)

    def error(exception_context: Any) -> None:
        span = getattr(exception_context.execution_context, _SPAN, None)
        if span is not None:
            failed(span, exception_context.original_exception)
            span.end()
            setattr(exception_context.execution_context, _SPAN, None)

    sync = engine.sync_engine
    event.listen(sync, "before_cursor_execute", before)
    event.listen(sync, "after_cursor_execute", after)
    event.listen(sync, "handle_error", error)
    if engine.dialect.driver == "asyncpg":
        on_take(engine, _DriverStatements(tracer, system).taken)
    return engine


class _DriverStatements:
    """On PostgreSQL, ``SqlSession`` sends its prepared ``Query`` texts, ``BEGIN`` and
    ``COMMIT`` straight to asyncpg, past SQLAlchemy's events: asyncpg's query logger
    reports each of those once it has run (with how long it took), and SQLAlchemy's own
    statements (asyncpg prepared statements) never reach it, so no statement is counted
    twice. The logger is called soon after the statement, in a copy of the caller's
    context: the span gets the caller's current span as parent and its real start and end.

    asyncpg makes a record and schedules a loop callback for every statement of a
    connection that has a logger, 6-10 µs a statement whether or not anything is traced
    (Performance, round nine). So the logger is put on a connection when a unit of work in
    a sampled trace takes it, and taken off when one outside any sampled trace takes it
    next (it stays on while the connection is parked or in the pool in between). A
    failure to do either is logged and costs spans, never the request."""

    def __init__(self, tracer: Tracer, system: str) -> None:
        self._tracer = tracer
        self._system = system
        self._logged = ("portside_statements_logged", id(self))
        """Key in a pooled connection's ``info`` (cleared when the pool replaces the
        connection): whether this instance's logger is on it."""
        self._warned = False

    def taken(self, connection: AsyncConnection) -> None:
        sampled = in_a_trace()
        pooled = pooled_now(connection)
        if pooled is None or pooled.info.get(self._logged, False) is sampled:
            return
        try:
            driver = pooled.driver_connection
            if sampled:
                driver.add_query_logger(self._span)
            else:
                driver.remove_query_logger(self._span)
        except Exception:  # noqa: BLE001 - a tracing fault must not fail the unit of work (see on_take)
            if not self._warned:  # once: it would recur on every take
                self._warned = True
                _log.warning("statement_tracing_failed", exc_info=True)
            return
        pooled.info[self._logged] = sampled

    def _span(self, record: Any) -> None:
        end = time.time_ns()
        if not in_a_trace():
            return
        statement: str = record.query
        operation, name = _summary(statement)
        span = self._tracer.start_span(
            name,
            kind=SpanKind.CLIENT,
            attributes={
                "db.system": self._system,
                "db.statement": statement[:_MAX_STATEMENT],
                "db.operation.name": operation,
            },
            start_time=end - int(record.elapsed * 1e9),
        )
        if record.exception is not None:
            failed(span, record.exception)
        span.end(end_time=end)


def _summary(statement: str) -> tuple[str, str]:
    """The operation (``SELECT``) and the span name (``SELECT users``, or the operation alone):
    remembered for the app's own statements (parameters bound, so a few hundred texts), not
    for the rare long one."""
    if len(statement) > _MAX_STATEMENT:
        return _summarize(statement)
    return _summarize_cached(statement)


def _summarize(statement: str) -> tuple[str, str]:
    keyword = _KEYWORD.match(statement)
    operation = keyword.group(1).upper() if keyword else "SQL"
    table = _TABLE.search(statement)
    return operation, f"{operation} {table.group(1)}" if table else operation


_summarize_cached = functools.lru_cache(maxsize=1024)(_summarize)
