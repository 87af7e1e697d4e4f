"""``GET /metrics``: Prometheus's text format, for the internal network (API.md).

The process's own counters come from ``adapters.prometheus.metrics`` (summed over every
``serve`` worker when ``PROMETHEUS_MULTIPROC_DIR`` is set: ``entrypoints.cli``). Jobs by
status, the outbox's lag and campaign deliveries by outcome are read from the database at
scrape time, so every process and host reports the same figures; a database that does not
answer within ``FIGURES_TIMEOUT`` leaves them out and sets ``portside_metrics_database_up`` 0.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

from dishka.integrations.litestar import FromDishka, inject
from litestar import MediaType, Response, get
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from application.broadcast.delivery_figures import DeliveryFigures
from application.errors import DependencyUnavailableError
from application.jobs.job_figures import JobFigures, JobsAtAGlance
from domain.broadcast.delivery import DeliveryError, DeliveryStatus

__all__ = ["FIGURES_TIMEOUT", "metrics"]

FIGURES_TIMEOUT = 2.0
"""Seconds the database figures may take before a scrape goes on without them."""

_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@get(
    "/metrics",
    tags=["operations"],
    summary="Prometheus metrics",
    description="Prometheus text format: requests by route and status, latency, the database pool, the outbox's "
    "lag, jobs by status, cache hits and misses, rate-limit rejections, login failures and lockouts, "
    "WebSocket connections, campaign deliveries and Telegram sends by outcome. Meant for the internal "
    "network; `PORTSIDE_METRICS=off` removes it.",
    media_type=MediaType.TEXT,
)
@inject
async def metrics(jobs: FromDishka[JobFigures], deliveries: FromDishka[DeliveryFigures]) -> Response[bytes]:
    try:
        async with asyncio.timeout(FIGURES_TIMEOUT):
            figures: _Figures = _Figures(await jobs(), await deliveries())
    except (DependencyUnavailableError, TimeoutError):
        figures = _Figures(None, None)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(figures)
    body = _process_metrics() + generate_latest(registry)
    return Response(body, media_type=_CONTENT_TYPE)


def _process_metrics() -> bytes:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


class _Figures(Collector):
    """The database's figures of one scrape (``None``: it did not answer)."""

    def __init__(
        self,
        jobs: JobsAtAGlance | None,
        deliveries: dict[tuple[DeliveryStatus, DeliveryError | None], int] | None,
    ) -> None:
        self._jobs = jobs
        self._deliveries = deliveries

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "portside_metrics_database_up", "1 when the database answered this scrape's figures in time, else 0."
        )
        up.add_metric([], 0 if self._jobs is None else 1)
        yield up
        if self._jobs is not None:
            jobs = GaugeMetricFamily("portside_jobs", "Job records by status.", labels=["status"])
            for job_status, count in self._jobs.jobs.items():
                jobs.add_metric([job_status.value], count)
            yield jobs
            yield GaugeMetricFamily(
                "portside_outbox_lag_seconds",
                "How long the oldest event not yet relayed has waited (0 when none waits).",
                value=self._jobs.outbox_lag.total_seconds(),
            )
        if self._deliveries is not None:
            deliveries = GaugeMetricFamily(
                "portside_campaign_deliveries",
                "Campaign deliveries by status and error (empty when none): the sends' record of truth.",
                labels=["status", "error"],
            )
            for (status, error), count in sorted(self._deliveries.items(), key=str):
                deliveries.add_metric([status.value, "" if error is None else error.value], count)
            yield deliveries
