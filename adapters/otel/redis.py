"""A client span per Redis command the shared client, or the shared pipelined connection, sends."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from opentelemetry.trace import SpanKind, Tracer
from redis.asyncio import Redis

from adapters.otel.spans import failed, in_a_trace
from adapters.redis.pipelined import PipelinedRedis

__all__ = ["trace_pipelined", "trace_redis"]


def trace_redis(client: Redis, tracer: Tracer) -> Redis:
    """Make every command ``client`` sends inside a request or a job a span named ``redis
    <COMMAND>`` (a script call is ``redis EVALSHA``), child of the current one, with
    ``db.system`` and ``db.operation.name``: never a key, an argument or a reply. Commands
    outside any span (background polls) are not traced.

    Wraps this client's ``execute_command``, through which every command and script call
    goes. Pipelines, pub/sub connections and arq's own client are separate objects and are
    not traced (portside's adapters use none of them on a request's path).
    """
    client.execute_command = _traced(client.execute_command, tracer)  # type: ignore[method-assign]
    return client


def trace_pipelined(connection: PipelinedRedis, tracer: Tracer) -> PipelinedRedis:
    """The same spans for the commands of ``connection`` (the rate limiter's hits)."""
    connection.execute = _traced(connection.execute, tracer)  # type: ignore[method-assign]
    return connection


_Execute = Callable[..., Coroutine[Any, Any, Any]]


def _traced(execute: _Execute, tracer: Tracer) -> _Execute:
    async def traced(*args: Any, **options: Any) -> Any:
        if not in_a_trace():
            return await execute(*args, **options)
        command = _command(args)
        attributes = {"db.system": "redis", "db.operation.name": command}
        with tracer.start_as_current_span(
            f"redis {command}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                return await execute(*args, **options)
            except BaseException as error:
                failed(span, error)
                raise

    return traced


def _command(args: tuple[Any, ...]) -> str:
    name = args[0] if args else "?"
    text = name.decode("ascii", "replace") if isinstance(name, bytes) else str(name)
    return text.upper()
