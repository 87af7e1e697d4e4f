"""OpenTelemetry tracing (the ``otel`` extra): spans for requests, SQL, Redis, Bot API calls
and jobs, a job continuing the trace of the request that recorded its event, and nothing at
all when tracing is off. Spans go to an in-memory exporter; nothing is set globally."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx
import pytest
import structlog
from dishka import AsyncContainer, Provider
from dishka.integrations.arq import DISHKA_REQUEST_CONTAINER_KEY
from litestar import Request
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.otel.sql import trace_engine
from adapters.otel.telegram import OUTCOME, REJECTION
from adapters.shared.event_codec import to_json
from adapters.sql.connections import pooled_now
from adapters.sql.engine import create_engine
from adapters.sql.outbox import all_events
from adapters.system.clock import FixedClock
from application.jobs.due_jobs import RunnerRules
from application.jobs.relay_outbox import RelayRules
from application.shared.email import EmailSender
from application.shared.rate_limits import RateLimit, RateLimiter
from application.telegram.client import SendOutcome, TelegramClient
from entrypoints.container import build_container
from entrypoints.http.app import create_app, http_providers
from entrypoints.http.tracing import TracingMiddleware
from entrypoints.settings import Settings
from entrypoints.testing.harness import overriding
from entrypoints.tracing import WORKER_SERVICE, tracing
from entrypoints.worker.arq_worker import handle_event
from entrypoints.worker.loops import in_process_jobs
from tests.http.conftest import API, PASSWORD, fixed_clock_provider
from tests.integration.test_identity_repositories import a_user
from tests.support.builders import T0
from tests.support.fake_telegram import FakeTelegram, blocked
from tests.support.mail import RecordingSender
from tests.support.settings import test_settings
from tests.support.units import sql_unit

ROOT = Path(__file__).resolve().parents[2]
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@dataclass
class TracedApi:
    client: httpx.AsyncClient
    container: AsyncContainer
    exporter: InMemorySpanExporter

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        return [span for span in self.exporter.get_finished_spans() if name is None or span.name == name]

    def one(self, name: str) -> ReadableSpan:
        [span] = self.spans(name)
        return span

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        return [span for span in self.spans() if span.parent is not None and span.parent.span_id == _id(parent)]


def _id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def _trace(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.trace_id)


@asynccontextmanager
async def traced_api(
    settings: Settings, *overrides: Provider, client: tuple[str, int] = ("203.0.113.7", 50000)
) -> AsyncIterator[TracedApi]:
    """The app as ``tests.http.conftest.running_api`` builds it, with tracing on: the
    tracing providers last, so they wrap the adapters the overrides put in place."""
    exporter = InMemorySpanExporter()
    traced = tracing(settings, exporter=exporter)
    container = build_container(
        settings, *http_providers(), fixed_clock_provider(FixedClock(T0)), *overrides, *traced.providers(settings)
    )
    app = create_app(settings, container, tracing=traced)
    assert isinstance(app.asgi_handler, TracingMiddleware)
    transport = httpx.ASGITransport(app=cast(Any, app), client=client)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield TracedApi(client=http, container=container, exporter=exporter)
    finally:
        await container.close()
        traced.shutdown()


async def _register(api: TracedApi, email: str = "ada@example.com", **headers: str) -> httpx.Response:
    response = await api.client.post(
        f"{API}/auth/register", json={"email": email, "password": PASSWORD}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response


def _attribute_text(spans: Sequence[ReadableSpan]) -> str:
    return repr([(span.name, dict(span.attributes or {})) for span in spans])


async def test_a_request_is_a_server_span_with_its_statements_as_children(any_database_url: str) -> None:
    async with traced_api(test_settings(any_database_url)) as api:
        response = await _register(api, **{"X-Request-ID": "req-7"})
    http = api.one("POST /api/v1/auth/register")
    assert http.kind is SpanKind.SERVER and http.parent is None
    assert dict(http.attributes or {}) == {
        "http.request.method": "POST",
        "http.route": "/api/v1/auth/register",
        "http.response.status_code": 201,
        "portside.request_id": "req-7",
    }
    assert response.headers["x-request-id"] == "req-7"
    statements = [span for span in api.children(http) if span.kind is SpanKind.CLIENT]
    assert "INSERT users" in {span.name for span in statements}
    assert "INSERT outbox" in {span.name for span in statements}
    system = "sqlite" if any_database_url.startswith("sqlite") else "postgresql"
    assert all(_trace(span) == _trace(http) for span in statements)
    assert {(span.attributes or {})["db.system"] for span in statements} == {system}
    insert = next(span for span in statements if span.name == "INSERT users")
    assert str((insert.attributes or {})["db.statement"]).startswith("INSERT INTO users")
    recorded = _attribute_text(api.spans())
    assert "ada@example.com" not in recorded and PASSWORD not in recorded  # no parameter anywhere


async def test_an_incoming_traceparent_is_continued(sqlite_url: str) -> None:
    async with traced_api(test_settings(sqlite_url)) as api:
        await api.client.get(f"{API}/tags", headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"})
        await api.client.get(f"{API}/tags", headers={"traceparent": "00-not-a-trace-01"})
    continued, fresh = api.spans("GET /api/v1/tags")
    assert f"{_trace(continued):032x}" == CALLER_TRACE
    assert continued.parent is not None and f"{continued.parent.span_id:016x}" == CALLER_SPAN
    assert continued.parent.is_remote
    assert fresh.parent is None and f"{_trace(fresh):032x}" != CALLER_TRACE


async def test_a_request_the_sampler_drops_records_nothing_and_still_carries_its_trace(pg_url: str) -> None:
    """A caller's unsampled ``traceparent``: no span for the request or its statements, but
    the access line names the caller's trace and the event passes it on, unsampled, so the
    job it sets off is not traced either."""
    unsampled = f"00-{CALLER_TRACE}-{CALLER_SPAN}-00"
    async with traced_api(test_settings(pg_url, access_log=True)) as api:
        with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            response = await _register(api, traceparent=unsampled)
        [envelope] = await all_events(await api.container.get(AsyncEngine))
    assert response.status_code == 201
    assert api.spans() == []
    [line] = [entry for entry in logs if entry["event"] == "request"]
    assert line["trace_id"] == CALLER_TRACE and line["status"] == 201
    assert envelope.trace_parent is not None
    assert envelope.trace_parent.startswith(f"00-{CALLER_TRACE}-") and envelope.trace_parent.endswith("-00")


async def test_an_unmatched_path_is_named_for_its_method_only(sqlite_url: str) -> None:
    async with traced_api(test_settings(sqlite_url)) as api:
        response = await api.client.get(f"{API}/no-such-thing/secret-looking-id?token=query-token-value")
    assert response.status_code == 404
    span = api.one("GET")
    assert "http.route" not in (span.attributes or {})
    # Neither value can occur by chance in the span's random request id (hex).
    assert "secret-looking-id" not in _attribute_text([span])
    assert "query-token-value" not in _attribute_text([span])


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


async def test_the_job_an_event_sets_off_continues_the_trace_of_the_request(store_url: str) -> None:
    mail = RecordingSender()
    overrides = (
        overriding(EmailSender, mail),
        overriding(RunnerRules, RunnerRules(poll=0.05)),
        overriding(RelayRules, RelayRules(idle_delay=0.02)),
    )
    async with (
        traced_api(test_settings(store_url), *overrides) as api,
        in_process_jobs(api.container, {Request: None}),  # the relay and the job runner
    ):
        await _register(api)
        await _eventually(lambda: bool(api.spans("job user.registered")) and bool(mail.sent))
    http = api.one("POST /api/v1/auth/register")
    job = api.one("job user.registered")
    assert job.kind is SpanKind.CONSUMER
    assert _trace(job) == _trace(http)
    assert job.parent is not None and job.parent.span_id == _id(http)
    assert (job.attributes or {})["portside.job.done"] is True
    assert (job.attributes or {})["portside.request_id"] == (http.attributes or {})["portside.request_id"]
    if store_url != "memory://":  # the job's own statements (its record) are its children
        assert any(span.kind is SpanKind.CLIENT for span in api.children(job))


async def test_a_worker_process_continues_the_trace_from_the_outbox_row(sqlite_url: str) -> None:
    """The request's trace context travels through the SQL outbox row and the arq job's
    document to another tracer provider, as it would to a ``portside worker``."""
    settings = test_settings(sqlite_url)
    async with traced_api(settings) as api:
        await _register(api)
        [envelope] = await all_events(await api.container.get(AsyncEngine))
    http = api.one("POST /api/v1/auth/register")
    assert envelope.trace_parent is not None  # the flags follow (sampled)
    assert envelope.trace_parent.startswith(f"00-{_trace(http):032x}-{_id(http):016x}-")
    exporter = InMemorySpanExporter()
    worker = tracing(settings, service=WORKER_SERVICE, exporter=exporter)
    container = build_container(settings, overriding(EmailSender, RecordingSender()), *worker.providers(settings))
    try:
        async with container() as request:
            assert await cast(Any, handle_event)({DISHKA_REQUEST_CONTAINER_KEY: request}, to_json(envelope)) == "done"
    finally:
        await container.close()
        worker.shutdown()
    [job] = [span for span in exporter.get_finished_spans() if span.name == "job user.registered"]
    assert _trace(job) == _trace(http) and job.parent is not None and job.parent.span_id == _id(http)
    assert job.resource.attributes["service.name"] == "portside-worker"


async def test_events_recorded_outside_a_traced_request_start_their_own_trace(sqlite_url: str) -> None:
    overrides = (
        overriding(EmailSender, RecordingSender()),
        overriding(RunnerRules, RunnerRules(poll=0.05)),
        overriding(RelayRules, RelayRules(idle_delay=0.02)),
    )
    settings = test_settings(sqlite_url)
    exporter = InMemorySpanExporter()
    traced = tracing(settings, exporter=exporter)
    container = build_container(settings, *http_providers(), *overrides, *traced.providers(settings))
    app = create_app(settings, container)  # no tracing for HTTP: the request is not traced
    transport = httpx.ASGITransport(app=cast(Any, app))
    try:
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
            in_process_jobs(container, {Request: None}),
        ):
            response = await client.post(f"{API}/auth/register", json={"email": "a@example.com", "password": PASSWORD})
            assert response.status_code == 201
            await _eventually(lambda: any(s.name == "job user.registered" for s in exporter.get_finished_spans()))
    finally:
        await container.close()
        traced.shutdown()
    [job] = [span for span in exporter.get_finished_spans() if span.name == "job user.registered"]
    assert job.parent is None


async def test_access_lines_carry_the_trace_id_next_to_the_request_id(sqlite_url: str) -> None:
    async with traced_api(test_settings(sqlite_url, access_log=True)) as api:
        with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            await api.client.get(f"{API}/tags", headers={"X-Request-ID": "req-42"})
    [line] = [entry for entry in logs if entry["event"] == "request"]
    span = api.one("GET /api/v1/tags")
    assert line["request_id"] == "req-42"
    assert line["trace_id"] == f"{_trace(span):032x}"
    assert line["span_id"] == f"{_id(span):016x}"
    assert "trace_id" not in structlog.contextvars.get_contextvars()


async def test_probes_and_the_metrics_scrape_are_not_traced(sqlite_url: str, redis_url: str) -> None:
    """Not even when the caller's ``traceparent`` asks for it; the readiness probe's
    statement and Redis ``PING`` make no spans either, and its access line names no trace."""
    sampled = {"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}
    async with traced_api(test_settings(sqlite_url, redis_url=redis_url, access_log=True)) as api:
        with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            for path in ("/health", "/health/", "/health/ready", "/health/ready/", "/metrics"):
                response = await api.client.get(path, headers=sampled)
                assert response.status_code == 200, (path, response.text)
            await api.client.get(f"{API}/tags", headers=sampled)  # and the same request elsewhere is
    [tags] = [span for span in api.spans() if span.kind is SpanKind.SERVER]
    assert tags.name == "GET /api/v1/tags"
    assert all(span is tags or span in api.children(tags) for span in api.spans())  # no probe's PING
    probe_lines = [entry for entry in logs if entry["event"] == "request" and "/tags" not in entry["path"]]
    assert len(probe_lines) == 5 and not any("trace_id" in entry for entry in probe_lines)


async def test_statements_are_logged_only_while_a_sampled_trace_holds_the_connection(pg_url: str) -> None:
    """asyncpg makes a record and a loop callback for every statement of a connection that
    has a query logger, traced or not: the spans' logger goes on when a unit of work in a
    sampled trace takes the connection, and off when one outside any takes it next (the
    same parked connection here; ``_query_loggers`` is asyncpg's own set)."""
    exporter = InMemorySpanExporter()
    traced = tracing(test_settings(pg_url), exporter=exporter)
    engine = trace_engine(create_engine(pg_url, pool_size=1), traced.tracer)

    async def loggers_during_a_read() -> int:
        async with sql_unit(engine) as uow:
            assert await uow.users.get(a_user().id) is None
            return len(pooled_now(uow.session.connection).driver_connection._query_loggers)

    try:
        assert await loggers_during_a_read() == 0
        with traced.tracer.start_as_current_span("sampled job"):
            assert await loggers_during_a_read() == 1
        assert await loggers_during_a_read() == 0
        with traced.tracer.start_as_current_span("sampled job"):
            assert await loggers_during_a_read() == 1
    finally:
        await engine.dispose()
        traced.shutdown()
    spans = exporter.get_finished_spans()
    jobs = {_id(span) for span in spans if span.name == "sampled job"}
    statements = [span for span in spans if span.name != "sampled job"]
    assert len(jobs) == 2 and [span.name for span in statements] == ["SELECT users"] * 2
    assert {span.parent.span_id for span in statements if span.parent is not None} == jobs


async def test_a_fault_in_statement_tracing_costs_spans_never_the_unit_of_work(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("asyncpg changed")

    monkeypatch.setattr(asyncpg.Connection, "add_query_logger", broken)
    exporter = InMemorySpanExporter()
    traced = tracing(test_settings(pg_url), exporter=exporter)
    engine = trace_engine(create_engine(pg_url, pool_size=1), traced.tracer)
    try:
        with structlog.testing.capture_logs() as logs, traced.tracer.start_as_current_span("sampled job"):
            for _ in range(2):
                async with sql_unit(engine) as uow:
                    assert await uow.users.get(a_user().id) is None
    finally:
        await engine.dispose()
        traced.shutdown()
    assert [entry["event"] for entry in logs] == ["statement_tracing_failed"]  # once
    assert [span.name for span in exporter.get_finished_spans()] == ["sampled job"]


async def test_redis_commands_and_script_calls_are_spans_without_keys(sqlite_url: str, redis_url: str) -> None:
    address = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(256)}"  # its own counters
    key = f"portside:test:tracing:{uuid.uuid4().hex}"
    settings = test_settings(sqlite_url, redis_url=redis_url, rate_limits=True)
    async with traced_api(settings, client=(address, 50000)) as api:
        await _register(api)  # the registration throttle: a script call per hit
        limiter = await api.container.get(RateLimiter)
        await limiter.hit(key, RateLimit(limit=5, window=timedelta(seconds=5)))  # in no request: not traced
    register = api.one("POST /api/v1/auth/register")
    scripts = [span for span in api.children(register) if span.name == "redis EVALSHA"]
    assert scripts and scripts[-1].status.status_code is not StatusCode.ERROR
    assert scripts[-1].kind is SpanKind.CLIENT
    assert dict(scripts[-1].attributes or {}) == {"db.system": "redis", "db.operation.name": "EVALSHA"}
    assert all(span.parent is not None for span in api.spans() if span.name.startswith("redis "))
    recorded = _attribute_text(api.spans())
    for secret in (key, address, "ada@example.com"):
        assert secret not in recorded


async def test_bot_api_calls_are_spans_with_their_outcome_and_never_the_token_or_text(sqlite_url: str) -> None:
    exporter = InMemorySpanExporter()
    async with FakeTelegram() as fake:
        fake.script(43, blocked())
        settings = test_settings(sqlite_url, telegram_bot_token=fake.token, telegram_api_base=fake.api_base)
        traced = tracing(settings, exporter=exporter)
        container = build_container(settings, *traced.providers(settings))
        try:
            client = await container.get(TelegramClient)
            accepted = await client.send_message(42, "a very private text")
            refused = await client.send_message(43, "another private text")
            await client.get_me()
        finally:
            await container.close()
            traced.shutdown()
    assert (accepted.outcome, refused.outcome) == (SendOutcome.ACCEPTED, SendOutcome.REJECTED)
    spans = exporter.get_finished_spans()
    assert [span.name for span in spans] == ["telegram sendMessage", "telegram sendMessage", "telegram getMe"]
    assert [(span.attributes or {}).get(OUTCOME) for span in spans] == ["accepted", "rejected", None]
    assert (spans[1].attributes or {})[REJECTION] == "blocked"
    assert all(span.kind is SpanKind.CLIENT for span in spans)
    recorded = _attribute_text(spans)
    for secret in (fake.token, fake.token.partition(":")[2], "private text", "42", "43"):
        assert secret not in recorded


async def _eventually(check: Any, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time limit"
        await asyncio.sleep(0.02)
