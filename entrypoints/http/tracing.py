"""``TracingMiddleware``: a server span per HTTP request, outside everything else.

Only in the app when tracing is on (``create_app``): without it there is no wrapper at all.
"""

from __future__ import annotations

from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry.trace import Span, SpanKind, Tracer, format_span_id, format_trace_id, set_span_in_context

from adapters.otel.spans import context_of, failed, traceparent_of
from entrypoints.http.auth import TRACE_PARENT_STATE
from entrypoints.http.request_context import REQUEST_ID_STATE, Message, Receive, Scope, Send
from entrypoints.http.router_path import router_path

__all__ = ["TracingMiddleware"]

_PROPAGATED = (b"traceparent", b"tracestate")
_PROBES = frozenset({"/health", "/health/ready", "/metrics"})
"""Paths served untraced: load balancers' and orchestrators' probes and the metrics scrape
arrive every few seconds, would be most of an idle service's traces and say nothing a
metric does not; tracing one request in ten more than doubled the CPU of a request that
does little else (Performance, round nine). Matched as the router sees the path (``router_path``)."""


class TracingMiddleware:
    """Opens a server span for each HTTP request, continuing the caller's W3C
    ``traceparent`` when it sends one (and it is sampled), and makes it current, so the
    statements, commands and calls made for the request are its children.

    - Named ``METHOD /route/{template}`` once routing is known (the method alone for an
      unmatched path); attributes ``http.request.method``, ``http.route``,
      ``http.response.status_code`` and ``portside.request_id``. Never the path as sent, a
      query string or a header: they may carry ids or tokens. A 5xx marks it an error.
    - ``trace_id`` and ``span_id`` are bound to the log context for the request, so the
      access line (``RequestContext``, inside this) carries them next to ``request_id``.
    - The span's ``traceparent`` goes to the request's state; the events the request
      commits carry it (``HttpProvider.provenance``), and the jobs they set off continue
      the trace.

    WebSocket connections, the lifespan and the probes (``/health``, ``/health/ready``,
    ``/metrics``, however the path is spelled) pass through untraced; a probe's statements
    and commands are then untraced too (``in_a_trace``).
    """

    def __init__(self, app: Any, tracer: Tracer) -> None:  # any ASGI app
        self._app = app
        self._tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or router_path(scope) in _PROBES:
            await self._app(scope, receive, send)
            return
        method: str = scope["method"]
        span = self._tracer.start_span(
            method,
            context=context_of(_propagated_headers(scope)),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method},
        )
        token = otel_context.attach(set_span_in_context(span))
        ids = span.get_span_context()
        structlog.contextvars.bind_contextvars(
            trace_id=format_trace_id(ids.trace_id), span_id=format_span_id(ids.span_id)
        )
        scope.setdefault("state", {})[TRACE_PARENT_STATE] = traceparent_of(span)
        try:
            if span.is_recording():
                await self._recorded(span, method, scope, receive, send)
            else:  # the sampler dropped it: nothing to record, only its context to carry
                await self._app(scope, receive, send)
        finally:
            structlog.contextvars.unbind_contextvars("trace_id", "span_id")
            otel_context.detach(token)
            span.end()

    async def _recorded(self, span: Span, method: str, scope: Scope, receive: Receive, send: Send) -> None:
        status: int | None = None

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_with_status)
        except BaseException as error:
            failed(span, error)
            raise
        finally:
            _finish(span, scope, method, status)


def _propagated_headers(scope: Scope) -> dict[str, str]:
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name in _PROPAGATED
    }


def _finish(span: Span, scope: Scope, method: str, status: int | None) -> None:
    template = scope.get("path_template")
    if template:
        span.update_name(f"{method} {template}")
        span.set_attribute("http.route", template)
    request_id = scope.get("state", {}).get(REQUEST_ID_STATE)
    if request_id:
        span.set_attribute("portside.request_id", request_id)
    if status is not None:
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            failed(span, str(status))
