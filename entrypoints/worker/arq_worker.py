"""``portside worker``: arq runs the jobs; the same process runs the relay and the sweeps.

The container is the app's (``build_container``): dishka's arq integration opens a request
scope per job, as the HTTP integration does per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from typing import Any

import structlog
from arq import Retry, cron, func
from arq.connections import RedisSettings
from arq.worker import Worker
from dishka import AsyncContainer
from dishka.integrations.arq import FromDishka, inject, setup_dishka
from redis.exceptions import RedisError

from adapters.redis.client import create_redis
from adapters.redis.job_queue import HANDLE_EVENT, QUEUE_NAME, deserialize, serialize
from adapters.shared.event_codec import from_json
from application.errors import DependencyUnavailableError
from application.jobs.due_jobs import RequeueOverdueJobs
from application.jobs.handle_event import HandleEvent
from application.shared.housekeeping import CleanUp
from entrypoints.settings import Settings
from entrypoints.worker.loops import relay_forever, send_campaigns_forever, watch_lag_forever

__all__ = ["HEALTH_KEY", "check", "run", "serve", "worker_settings"]

HEALTH_KEY = f"{QUEUE_NAME}:health-check:{socket.gethostname()}"
"""Written by a live worker every ``HEALTH_INTERVAL`` seconds, expiring one second after.
One per host (per container), so ``worker --check`` in a container tells about the worker
in that container, and one worker stopping cleanly does not clear another's."""
HEALTH_INTERVAL = 15
SHUTDOWN_GRACE = 10
"""Seconds a worker told to stop (SIGTERM) lets running jobs finish before cancelling them."""
_UNAVAILABLE_RETRY = 5.0
_log = structlog.get_logger("portside.worker")


@inject
async def handle_event(ctx: dict[str, Any], document: str, handle: FromDishka[HandleEvent]) -> str:
    """One attempt at a recorded job. ``HandleEvent`` keeps the record; arq only waits
    (``Retry``) the time the record says, and re-runs a job whose worker died."""
    envelope = from_json(document)
    try:
        outcome = await handle(envelope)
    except DependencyUnavailableError as error:
        _log.warning("job waits: a dependency is unavailable", job_id=str(envelope.event_id), dependency=str(error))
        raise Retry(defer=_UNAVAILABLE_RETRY) from error
    if not outcome.done:
        assert outcome.retry_in is not None
        raise Retry(defer=max(outcome.retry_in.total_seconds(), 0.1))
    return "done"


@inject
async def requeue_overdue(ctx: dict[str, Any], requeue: FromDishka[RequeueOverdueJobs]) -> int:
    """Queue again the recorded jobs that are long overdue: what a Redis that lost its data
    or a failed retry left behind. Duplicates are no-ops."""
    return await requeue()


@inject
async def clean_up(ctx: dict[str, Any], clean: FromDishka[CleanUp]) -> dict[str, int]:
    report = await clean()
    _log.info("cleanup", **report)
    return report


def worker_settings(settings: Settings, container: AsyncContainer) -> dict[str, Any]:
    """arq's settings for a worker over ``container``."""
    assert settings.redis_url is not None
    # arq must never time a job out itself (that would fail it for good, past our records):
    # HandleEvent's handlers stop at nine tenths of the lease, and arq allows the lease
    # plus a margin for HandleEvent's own bookkeeping. A killed worker's job is run again
    # after arq's limit plus 10 s (its in-progress key's lifetime).
    timeout = settings.job_timeout + max(5, settings.job_timeout // 10)
    options: dict[str, Any] = {
        "functions": [func(handle_event, name=HANDLE_EVENT, timeout=timeout, max_tries=10_000, keep_result=3600)],
        "cron_jobs": [
            # No timeout above the jobs': arq waits for the longest one before it re-runs the
            # job of a worker that died (ECOSYSTEM.md, arq 5.4).
            cron(requeue_overdue, minute=set(range(0, 60, 5)), unique=True, timeout=timeout),
            cron(clean_up, minute={17}, run_at_startup=True, unique=True, timeout=timeout),
        ],
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "queue_name": QUEUE_NAME,
        "job_serializer": serialize,
        "job_deserializer": deserialize,
        "health_check_interval": HEALTH_INTERVAL,
        "health_check_key": HEALTH_KEY,
        "job_completion_wait": SHUTDOWN_GRACE,
        "max_jobs": 10,
        "poll_delay": 0.1,
    }
    setup_dishka(container, options)
    return options


def run(settings: Settings, container: AsyncContainer) -> None:
    """Run until SIGTERM or SIGINT (see ``serve``)."""
    asyncio.run(serve(settings, container))


async def serve(settings: Settings, container: AsyncContainer) -> None:
    """The relay, the campaign sender and an arq worker until SIGTERM or SIGINT, then: take
    no new job, give the
    running ones ``SHUTDOWN_GRACE`` seconds, cancel the rest (arq queues them again and
    their leases let the next start redo them), stop the relay, close the container.

    arq's worker dies with its Redis connection; while Redis is away this starts a new
    one every few seconds (1, 2, 4, then 5 s apart), so the worker resumes by itself. The relay never stops:
    events wait in the outbox meanwhile.
    """
    loop = asyncio.get_running_loop()
    stopping, relay_stop = asyncio.Event(), asyncio.Event()
    relay = asyncio.gather(
        relay_forever(container, relay_stop),
        watch_lag_forever(container, relay_stop),
        send_campaigns_forever(container, relay_stop),
    )
    worker: Worker | None = None

    def stop(signum: signal.Signals) -> None:
        stopping.set()
        if worker is not None:
            worker.handle_sig_wait_for_completion(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signum)
    delay = 1.0
    try:
        while not stopping.is_set():
            worker = Worker(**worker_settings(settings, container), handle_signals=False)
            started = loop.time()
            try:
                await worker.async_run()
            except asyncio.CancelledError:
                if not stopping.is_set():
                    raise
            except (RedisError, OSError) as error:
                _log.warning("worker lost Redis; starting again", error=str(error), retry_in=delay)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await worker.close()
            if not stopping.is_set():
                if loop.time() - started > 60:
                    delay = 1.0  # it ran well: this is a new outage
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), delay)
                delay = min(delay * 2, 5.0)
    finally:
        relay_stop.set()
        try:
            await asyncio.wait_for(relay, SHUTDOWN_GRACE)
        finally:
            await container.close()


def check(settings: Settings) -> int:
    """0 when a worker wrote its heartbeat in the last ``HEALTH_INTERVAL`` seconds, else 1
    (also when Redis cannot be reached). arq's own check closes its client with a call
    redis-py 5 deprecates."""
    assert settings.redis_url is not None
    return asyncio.run(_heartbeat(settings.redis_url))


async def _heartbeat(url: str) -> int:
    client = create_redis(url, max_connections=1)
    try:
        return 0 if await client.get(HEALTH_KEY) else 1
    except (RedisError, OSError):
        return 1
    finally:
        await client.aclose()
        await client.connection_pool.disconnect()
