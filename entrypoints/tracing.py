"""Tracing's composition: the tracer provider, and the dishka providers that put spans
around the SQL engine, the Redis client, the Telegram client and each job.

Imported only when tracing is on (``PORTSIDE_OTEL_ENDPOINT``, or a test's exporter): it
imports OpenTelemetry, the ``otel`` extra. Nothing is global: the tracer goes to each
adapter explicitly, so tests build as many providers as they like (``tracing(settings,
exporter=InMemorySpanExporter())``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dishka import Provider, decorate
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.trace import Tracer
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.otel.jobs import TracedHandleEvent
from adapters.otel.provider import TRACER_NAME, tracer_provider
from adapters.otel.redis import trace_pipelined, trace_redis
from adapters.otel.sql import trace_engine
from adapters.otel.telegram import TracedTelegramClient
from adapters.redis.pipelined import PipelinedRedis
from application.jobs.handle_event import HandleEvent
from application.telegram.client import TelegramClient
from entrypoints.providers.storage import Storage
from entrypoints.settings import Settings

__all__ = ["API_SERVICE", "WORKER_SERVICE", "Tracing", "tracing"]

API_SERVICE = "portside"
WORKER_SERVICE = "portside-worker"


@dataclass(slots=True)
class Tracing:
    """One process's tracer provider and the tracer every span here comes from."""

    provider: TracerProvider
    tracer: Tracer
    _shut: bool = field(default=False, repr=False)

    def providers(self, settings: Settings) -> tuple[Provider, ...]:
        """For ``build_container``, after every other provider (tests' overrides included):
        a dishka ``decorate`` applies to what the providers before it provide."""
        traced: list[Provider] = [_Jobs(self.tracer), _Telegram(self.tracer)]
        if Storage.of(settings) is Storage.SQL:
            traced.append(_Sql(self.tracer))
        if settings.redis_url:
            traced.append(_Redis(self.tracer))
        return tuple(traced)

    def shutdown(self) -> None:
        """Export what is still batched and stop (once; later calls do nothing)."""
        if not self._shut:
            self._shut = True
            self.provider.shutdown()


def tracing(settings: Settings, *, service: str = API_SERVICE, exporter: SpanExporter | None = None) -> Tracing:
    """Spans of ``service`` exported over OTLP/HTTP to ``settings.otel_endpoint``, or handed
    to ``exporter`` as each ends (tests)."""
    provider = tracer_provider(service, endpoint=settings.otel_endpoint, exporter=exporter)
    return Tracing(provider, provider.get_tracer(TRACER_NAME))


class _Traced(Provider):
    def __init__(self, tracer: Tracer) -> None:
        super().__init__()
        self._tracer = tracer


class _Sql(_Traced):
    @decorate
    def engine(self, engine: AsyncEngine) -> AsyncEngine:
        return trace_engine(engine, self._tracer)


class _Redis(_Traced):
    @decorate
    def redis(self, redis: Redis) -> Redis:
        return trace_redis(redis, self._tracer)

    @decorate
    def pipelined(self, connection: PipelinedRedis) -> PipelinedRedis:
        return trace_pipelined(connection, self._tracer)


class _Telegram(_Traced):
    @decorate
    def telegram(self, client: TelegramClient) -> TelegramClient:
        """Only a client that calls the Bot API: the log-only one makes no call to trace."""
        return TracedTelegramClient(client, self._tracer) if client.configured else client


class _Jobs(_Traced):
    @decorate
    def handle_event(self, handle_event: HandleEvent) -> HandleEvent:
        return TracedHandleEvent(handle_event, self._tracer)
