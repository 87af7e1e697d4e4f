"""``TracedHandleEvent``: each job attempt a span, continuing the trace of the request that
recorded its event."""

from __future__ import annotations

from opentelemetry.trace import SpanKind, Tracer

from adapters.otel.spans import context_of, failed
from application.jobs.handle_event import HandleEvent, JobOutcome
from application.shared.events import Envelope

__all__ = ["TracedHandleEvent"]


class TracedHandleEvent(HandleEvent):
    """``handle_event`` with every attempt in a consumer span named ``job <event name>``,
    the child of the request's span when the event was recorded by a traced request (its
    ``trace_parent``), else the root of a trace of its own. SQL, Redis and Bot API spans of
    the handlers nest under it.

    A subclass only so that it stands where dishka provides ``HandleEvent``; it delegates
    every call and holds none of the parent's state.
    """

    def __init__(self, handle_event: HandleEvent, tracer: Tracer) -> None:  # no super().__init__: a delegate
        self._handle_event = handle_event
        self._tracer = tracer

    async def __call__(self, envelope: Envelope) -> JobOutcome:
        parent = context_of({"traceparent": envelope.trace_parent} if envelope.trace_parent else {})
        attributes: dict[str, str] = {"portside.job.id": str(envelope.event_id), "portside.event.name": envelope.name}
        if envelope.request_id:
            attributes["portside.request_id"] = envelope.request_id
        with self._tracer.start_as_current_span(
            f"job {envelope.name}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                outcome = await self._handle_event(envelope)
            except BaseException as error:
                failed(span, error)
                raise
            span.set_attribute("portside.job.done", outcome.done)
            if outcome.retry_in is not None:
                span.set_attribute("portside.job.retry_in_seconds", outcome.retry_in.total_seconds())
            return outcome
