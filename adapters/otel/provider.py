"""The tracer provider: OTLP over HTTP in production, any exporter in tests."""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

__all__ = ["TRACER_NAME", "tracer_provider"]

TRACER_NAME = "portside"
"""The instrumentation scope of every span portside makes."""


def tracer_provider(
    service: str, *, endpoint: str | None = None, exporter: SpanExporter | None = None
) -> TracerProvider:
    """Spans of ``service`` (the resource's ``service.name``).

    With ``exporter``, each span is handed to it as it ends (tests: an in-memory exporter).
    Otherwise they are batched and sent to ``{endpoint}/v1/traces`` as OTLP/protobuf over
    HTTP; the provider is shut down at process exit if nobody did so before, which flushes
    what is still batched. The SDK's ``OTEL_*`` variables (sampler, batch sizes, headers,
    extra resource attributes) apply as usual.
    """
    resource = Resource.create({"service.name": service})
    if exporter is not None:
        provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        return provider
    if not endpoint:
        raise ValueError("an OTLP endpoint or an exporter is required")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=resource)
    # A collector that does not answer costs an export 5 s (the exporter's default is 10),
    # so a stopping process is not held long past its orchestrator's grace period.
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces", timeout=5)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider
