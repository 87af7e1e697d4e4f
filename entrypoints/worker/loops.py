"""The loops a worker runs, each unit of work in a dishka request scope of its own.

Both ways of running jobs use them: ``portside worker`` (arq runs the jobs; these run the
relay) and the in-process runner of ``portside serve`` without Redis (these run all).

``context`` is what each request scope is opened with: the HTTP app's container expects a
``Request`` in it, and background work has none (``None`` stands in; see
``entrypoints.http.auth.HttpProvider.provenance``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import structlog
from dishka import AsyncContainer

from application.broadcast.sender import CampaignSender
from application.errors import DependencyUnavailableError
from application.jobs.due_jobs import Doorbell, FindDueJobs, RunnerRules
from application.jobs.handle_event import HandleEvent, JobOutcome
from application.jobs.relay_outbox import RelayOutbox, RelayReport, RelayRules, relay_until_stopped
from application.shared.events import Envelope
from application.shared.housekeeping import CleanUp

__all__ = ["clean_up_forever", "handle", "in_process_jobs", "relay_forever", "run_jobs_forever", "watch_lag_forever"]

_log = structlog.get_logger("portside.jobs")


Context = dict[Any, Any] | None


async def handle(container: AsyncContainer, envelope: Envelope, context: Context = None) -> JobOutcome:
    """One attempt at one job, in a request scope of its own (as arq's integration opens)."""
    async with container(context=context) as request:
        handle_event = await request.get(HandleEvent)
        outcome = await handle_event(envelope)
    _log.info(
        "job",
        job_id=str(envelope.event_id),
        job_name=envelope.name,
        done=outcome.done,
        retry_in=None if outcome.retry_in is None else outcome.retry_in.total_seconds(),
    )
    return outcome


async def relay_forever(container: AsyncContainer, stop: asyncio.Event, context: Context = None) -> None:
    """The relay until ``stop``; an unreachable database or queue only slows it down."""

    async def one_pass() -> RelayReport:
        try:
            async with container(context=context) as request:
                relay = await request.get(RelayOutbox)
                return await relay()
        except DependencyUnavailableError as error:
            _log.warning("relay waits: a dependency is unavailable", dependency=str(error))
            raise
        except Exception as error:
            _log.exception("relay pass failed")
            raise DependencyUnavailableError("relay") from error

    await relay_until_stopped(one_pass, await container.get(RelayRules), stop)


async def send_campaigns_forever(container: AsyncContainer, stop: asyncio.Event) -> None:
    """The campaign sender until ``stop``: a database or pacer outage only pauses it (0.5 s
    doubling to 10 s); the campaign's lease lets this or another process resume it."""
    sender = await container.get(CampaignSender)
    delay = 0.5
    while not stop.is_set():
        try:
            await sender.run(stop)
            delay = 0.5
        except DependencyUnavailableError as error:
            _log.warning("campaign sender waits: a dependency is unavailable", dependency=str(error), retry_in=delay)
        except Exception:  # noqa: BLE001 - the sender outlives any one failure
            _log.exception("campaign sender failed; starting again", retry_in=delay)
        if await _stopped(stop, delay):
            return
        delay = min(delay * 2, 10.0)


LAG_WARNING = timedelta(minutes=1)
"""An event older than this still in the outbox is logged (at most once a minute)."""


async def watch_lag_forever(container: AsyncContainer, stop: asyncio.Event, context: Context = None) -> None:
    """Log a warning while the oldest unrelayed event is older than ``LAG_WARNING``: the
    relay is down, or cannot keep up. (``RelayOutbox.lag`` is the figure a metric reads.)"""
    while not await _stopped(stop, LAG_WARNING.total_seconds()):
        try:
            async with container(context=context) as request:
                lag = await (await request.get(RelayOutbox)).lag()
        except Exception:  # noqa: BLE001 - a watcher never takes the process down
            _log.warning("relay lag unknown: the database is unavailable")
            continue
        if lag > LAG_WARNING:
            _log.warning("relay lags", lag_seconds=round(lag.total_seconds(), 1))


async def clean_up_forever(
    container: AsyncContainer, stop: asyncio.Event, context: Context = None, *, every: float = 3600.0
) -> None:
    """The cleanup now and then every ``every`` seconds, until ``stop``."""
    while True:
        try:
            report = await (await container.get(CleanUp))()
            if any(report.values()):
                _log.info("cleanup", **report)
        except Exception:  # noqa: BLE001 - the next round tries again
            _log.exception("cleanup failed")
        if await _stopped(stop, every):
            return


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds``; whether ``stop`` was set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


async def run_jobs_forever(container: AsyncContainer, stop: asyncio.Event, context: Context = None) -> None:
    """The in-process runner: handle due jobs, at most ``concurrency`` at a time, looking
    again when the relay rings or every ``poll`` seconds (retries whose wait ran out).

    When ``stop`` is set it takes no new job and returns once the running ones end; the
    caller cancels them after its grace period, and their leases let a later start redo
    the attempt.
    """
    rules = await container.get(RunnerRules)
    doorbell = await container.get(Doorbell)
    running: dict[UUID, asyncio.Task[None]] = {}

    async def attempt(envelope: Envelope) -> None:
        try:
            await handle(container, envelope, context)
        except Exception:  # noqa: BLE001 - the runner outlives any one job
            _log.exception("job attempt failed; its lease will let it run again", job_id=str(envelope.event_id))
        finally:
            running.pop(envelope.event_id, None)
            doorbell.ring()  # a slot is free

    try:
        while not stop.is_set():
            free = rules.concurrency - len(running)
            if free > 0:
                try:
                    async with container(context=context) as request:
                        due = await (await request.get(FindDueJobs))(rules.batch)
                except Exception:  # noqa: BLE001 - the runner outlives a database outage
                    _log.exception("looking for due jobs failed")
                    due = []
                for envelope in [e for e in due if e.event_id not in running][:free]:
                    running[envelope.event_id] = asyncio.create_task(attempt(envelope))
            await doorbell.wait(rules.poll)
    finally:
        await _drain(running)


async def _drain(running: dict[UUID, asyncio.Task[None]]) -> None:
    """Wait for the running attempts; if this wait is cancelled, cancel them too."""
    tasks = list(running.values())
    try:
        await asyncio.gather(*tasks, return_exceptions=True)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


@contextlib.asynccontextmanager
async def in_process_jobs(
    container: AsyncContainer, context: Context = None, *, grace: float = 10.0
) -> AsyncIterator[None]:
    """The relay, the job runner, the campaign sender, the hourly cleanup and the lag watch
    as tasks of this process while the context is open.

    On exit they stop taking work; jobs still running after ``grace`` seconds are
    cancelled (their attempts are redone later). Open it inside the container's lifetime.
    """
    stop = asyncio.Event()
    doorbell = await container.get(Doorbell)
    tasks = [
        asyncio.create_task(relay_forever(container, stop, context), name="portside-relay"),
        asyncio.create_task(run_jobs_forever(container, stop, context), name="portside-jobs"),
        asyncio.create_task(clean_up_forever(container, stop, context), name="portside-cleanup"),
        asyncio.create_task(watch_lag_forever(container, stop, context), name="portside-lag"),
        asyncio.create_task(send_campaigns_forever(container, stop), name="portside-campaigns"),
    ]
    try:
        yield
    finally:
        stop.set()
        doorbell.ring()
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
