"""What every span here records about a failure, and how trace context travels as text."""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.trace import Span, Status, StatusCode, get_current_span, set_span_in_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = ["ERROR_TYPE", "context_of", "failed", "in_a_trace", "traceparent_of"]

ERROR_TYPE = "error.type"
_PROPAGATOR = TraceContextTextMapPropagator()
_TRACEPARENT = "traceparent"


def failed(span: Span, error: BaseException | str) -> None:
    """Mark ``span`` failed with the error's class name only: a message may quote a value
    (a duplicate key, a statement's parameter), so none is recorded."""
    span.set_attribute(ERROR_TYPE, error if isinstance(error, str) else type(error).__qualname__)
    span.set_status(Status(StatusCode.ERROR))


def in_a_trace() -> bool:
    """Whether a span is current. Statements and commands outside any request or job (the
    relay's and the job runner's polls, every second or so) would each start a trace of
    one span: they are not traced."""
    return bool(get_current_span().get_span_context().is_valid)


def traceparent_of(span: Span) -> str | None:
    """``span``'s W3C ``traceparent`` (``00-<trace id>-<span id>-<flags>``), if it is valid."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=set_span_in_context(span))
    return carrier.get(_TRACEPARENT)


def context_of(headers: dict[str, str]) -> Context:
    """The context continuing a W3C ``traceparent`` (and ``tracestate``) in ``headers``
    (lower-case names); an empty one, so a new trace starts, when there is none or it is
    malformed."""
    if _TRACEPARENT not in headers:
        return Context()
    return _PROPAGATOR.extract(headers, context=Context())
