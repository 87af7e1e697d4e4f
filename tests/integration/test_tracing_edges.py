"""Tracing at the edges: off means no OpenTelemetry at all, an endpoint without the extra
stops start-up, a 5xx marks the server span, the trace context survives the job's document
and is written as the W3C propagator would, and only a sampled span has child spans made
for it. (The spans themselves: ``test_tracing.py``.)"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import (
    INVALID_SPAN,
    NonRecordingSpan,
    SpanContext,
    StatusCode,
    TraceFlags,
    set_span_in_context,
    use_span,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from adapters.otel.spans import in_a_trace, traceparent_of
from adapters.shared.event_codec import from_json, to_json
from application.shared.events import Envelope
from entrypoints.http.tracing import TracingMiddleware
from entrypoints.tracing import tracing
from tests.support.builders import T0
from tests.support.settings import test_settings

ROOT = Path(__file__).resolve().parents[2]
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


def test_the_trace_context_travels_with_the_envelope_as_a_job_argument() -> None:
    envelope = Envelope(
        event_id=uuid.uuid4(),
        name="user.registered",
        occurred_at=T0,
        aggregate_type="user",
        aggregate_id="u1",
        actor_id=None,
        request_id="r1",
        trace_parent=f"00-{CALLER_TRACE}-{CALLER_SPAN}-01",
    )
    assert from_json(to_json(envelope)) == envelope
    older = to_json(envelope).replace(f',"trace_parent":"00-{CALLER_TRACE}-{CALLER_SPAN}-01"', "")
    assert "trace_parent" not in older and from_json(older).trace_parent is None  # queued before the upgrade


async def test_a_5xx_marks_the_server_span_an_error() -> None:
    exporter = InMemorySpanExporter()
    traced = tracing(test_settings("memory://"), exporter=exporter)

    async def unavailable(scope: Any, receive: Any, send: Any) -> None:
        scope["path_template"] = "/down"
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/down", "headers": []}
    await TracingMiddleware(unavailable, traced.tracer)(scope, receive, send)
    traced.shutdown()
    [span] = exporter.get_finished_spans()
    assert span.name == "GET /down" and span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "503"
    assert sent[0]["status"] == 503


def _python(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("PORTSIDE_")}
    clean |= {"PORTSIDE_VAR_DIR": str(tmp_path / "var"), "PORTSIDE_DATABASE_URL": "memory://", **env}
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=120, check=False
    )


def test_without_an_endpoint_nothing_imports_opentelemetry_and_nothing_wraps_the_app(tmp_path: Path) -> None:
    """Litestar itself, when OpenTelemetry is installed, imports its namespace and the HTTP
    attribute names while it looks for its own plugin: that is the baseline (a bare
    ``Litestar()``), and ``create_app`` adds nothing to it: no API, no SDK, no wrapper."""
    code = (
        "import sys\n"
        "from litestar import Litestar\n"
        "def otel(): return {name for name in sys.modules if name.partition('.')[0] == 'opentelemetry'}\n"
        "Litestar(route_handlers=[])\n"
        "baseline = otel()\n"
        "from entrypoints.http.app import create_app\n"
        "from entrypoints.http.request_context import RequestContext\n"
        "from entrypoints.testing.harness import harness_settings\n"
        "app = create_app(harness_settings())\n"
        "assert type(app.asgi_handler) is RequestContext, type(app.asgi_handler)\n"
        "print(sorted(otel() - baseline), sorted(name for name in otel() if 'trace' in name or 'sdk' in name))\n"
    )
    result = _python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] []"


def test_an_endpoint_without_the_extra_stops_start_up_with_one_line(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None  # as if the otel extra were not installed\n"
        "from entrypoints.cli import main\n"
        "sys.exit(main(['migrate']))\n"
    )
    result = _python(code, tmp_path, PORTSIDE_OTEL_ENDPOINT="http://collector:4318")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "portside: configuration error: PORTSIDE_OTEL_ENDPOINT: needs the otel extra: pip install 'portside[otel]'"
    )
    installed = _python(
        "import sys\nfrom entrypoints.cli import main\nsys.exit(main(['migrate']))\n",
        tmp_path,
        PORTSIDE_OTEL_ENDPOINT="http://collector:4318",
    )
    assert installed.returncode == 0, installed.stderr


@given(
    trace_id=st.integers(min_value=1, max_value=2**128 - 1),
    span_id=st.integers(min_value=1, max_value=2**64 - 1),
    flags=st.sampled_from([0x00, 0x01]),
)
def test_a_spans_traceparent_is_what_the_w3c_propagator_writes(trace_id: int, span_id: int, flags: int) -> None:
    span = NonRecordingSpan(SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(flags)))
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier, context=set_span_in_context(span))
    assert traceparent_of(span) == carrier["traceparent"]


def test_an_invalid_span_has_no_traceparent() -> None:
    assert traceparent_of(INVALID_SPAN) is None


def test_only_a_sampled_span_makes_statements_and_commands_traced() -> None:
    """A request its sampler dropped still has a valid (non-recording) span: its statements
    start no span of their own, as none would be kept. A sampled request's statements do,
    also when asyncpg reports one after the request's span has ended."""
    provider = TracerProvider(sampler=ALWAYS_OFF)
    dropped = provider.get_tracer("t").start_span("dropped")
    assert dropped.get_span_context().is_valid and not dropped.is_recording()
    with use_span(dropped):
        assert not in_a_trace()
    sampled = TracerProvider().get_tracer("t").start_span("sampled")
    with use_span(sampled):
        assert in_a_trace()
    sampled.end()
    with use_span(sampled):
        assert in_a_trace()
    assert not in_a_trace()
