"""What every span here records about a failure, and how trace context travels as text."""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.trace import Span, Status, StatusCode, TraceFlags, get_current_span
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
    """Whether the current span is a sampled one: the statements and commands made for it
    get spans of their own. Outside any request or job (the relay's and the job runner's
    polls, every second or so) each would start a trace of one span; inside a request or
    job the sampler dropped, the sampler would drop them too (the SDK's samplers decide a
    child as its parent, or by the trace id they share). Neither is traced, and neither
    pays for a span.

    Asked of the span's context, not ``is_recording()``: asyncpg reports a statement soon
    after it ran (``adapters.otel.sql``), and by then the request's span may have ended."""
    ids = get_current_span().get_span_context()
    return ids.is_valid and bool(ids.trace_flags & TraceFlags.SAMPLED)


def traceparent_of(span: Span) -> str | None:
    """``span``'s W3C ``traceparent`` (``00-<trace id>-<span id>-<flags>``), if it is valid:
    what the propagator would write, formatted directly (once per request)."""
    ids = span.get_span_context()
    if not ids.is_valid:
        return None
    return f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{ids.trace_flags:02x}"


def context_of(headers: dict[str, str]) -> Context:
    """The context continuing a W3C ``traceparent`` (and ``tracestate``) in ``headers``
    (lower-case names); an empty one, so a new trace starts, when there is none or it is
    malformed."""
    if _TRACEPARENT not in headers:
        return Context()
    return _PROPAGATOR.extract(headers, context=Context())
