"""Tracing through ``portside serve`` itself, exported over OTLP/HTTP to a collector: the
request's span and its statements' spans arrive, the statements as the request's children.

Under uvicorn, asyncpg reports a statement to the tracing after the request may have
ended its span; in-process tests (httpx over ASGI) do not show that timing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.server import portside_serve

PASSWORD = "a-sturdy-passphrase-42"


@contextmanager
def collector() -> Iterator[tuple[str, list[Any]]]:
    """An OTLP/HTTP collector on a free port, in a thread of its own (the server's last
    export comes while the test waits for it to stop); yields its endpoint and the spans
    received so far."""
    spans: list[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = ExportTraceServiceRequest.FromString(body)
            spans.extend(
                span for resource in request.resource_spans for scope in resource.scope_spans for span in scope.spans
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", spans
    finally:
        server.shutdown()
        server.server_close()


async def test_a_served_requests_statements_arrive_as_children_of_its_span(pg_url: str, tmp_path: Path) -> None:
    with collector() as (endpoint, spans):
        # Whatever OTEL_* the machine sets, every request sampled and sent uncompressed.
        otel = {"OTEL_TRACES_SAMPLER": "parentbased_always_on", "OTEL_EXPORTER_OTLP_COMPRESSION": "none"}
        with portside_serve(
            pg_url, tmp_path, PORTSIDE_OTEL_ENDPOINT=endpoint, PORTSIDE_RATE_LIMITS="off", **otel
        ) as base:
            async with httpx.AsyncClient(base_url=f"{base}/api/v1") as client:
                credentials = {"email": "ada@example.com", "password": PASSWORD}
                assert (await client.post("/auth/register", json=credentials)).status_code == 201
                token = (await client.post("/auth/login", json=credentials)).json()["access_token"]
                auth = {"Authorization": f"Bearer {token}"}
                created = await client.post("/todos", json={"title": "traced"}, headers=auth)
                assert created.status_code == 201, created.text
                for _ in range(20):
                    read = await client.get(f"/todos/{created.json()['id']}", headers=auth)
                    assert read.status_code == 200
        # The server has stopped: what it still batched was exported at shutdown.
        reads = [span for span in spans if span.name == "GET /api/v1/todos/{todo_id}"]
        assert len(reads) == 20
        children = {read.span_id: [s for s in spans if s.parent_span_id == read.span_id] for read in reads}
        assert all(any(child.name.startswith("SELECT") for child in found) for found in children.values()), {
            read.hex(): [child.name for child in found] for read, found in children.items()
        }
