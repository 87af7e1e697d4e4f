"""``HandleEvent``: one job, one relayed event, every handler of its name run once in effect."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from application.jobs.ports import JobsUnitOfWork
from application.shared.events import Envelope
from application.shared.handlers import EventHandler
from application.shared.ports import Clock
from domain.jobs.job import Backoff, Job


@dataclass(frozen=True, slots=True)
class EventHandlers:
    """Every handler the process knows (the composition root lists them)."""

    all: tuple[EventHandler, ...] = ()

    def of(self, event_name: str) -> list[EventHandler]:
        return [handler for handler in self.all if event_name in handler.events]


@dataclass(frozen=True, slots=True)
class JobOutcome:
    done: bool
    """The job needs no more attempts: it succeeded, it is a dead letter, or it had finished already."""
    retry_in: timedelta | None = None
    """When ``done`` is false: how long to wait before the next attempt."""


class HandleEvent:
    """Run the handlers of ``envelope``'s event, recording the job as it goes.

    - A job that finished already (a redelivered event) does nothing.
    - Each handler that returns is recorded done for this event; a later attempt skips it,
      so one failing handler never makes another repeat its effect.
    - A handler that raises fails the attempt: the job is queued again after a bounded,
      jittered exponential backoff, or, after its last attempt, becomes a dead letter.
    """

    def __init__(self, uow: JobsUnitOfWork, handlers: EventHandlers, clock: Clock, backoff: Backoff) -> None:
        self._uow = uow
        self._handlers = handlers
        self._clock = clock
        self._backoff = backoff
        self._random = random.Random()  # noqa: S311 - jitter, not secrets

    async def __call__(self, envelope: Envelope) -> JobOutcome:
        started = await self._start(envelope)
        if started is None:
            return JobOutcome(done=True)
        job, done = started
        for handler in self._handlers.of(envelope.name):
            if handler.name in done:
                continue
            try:
                await self._run(handler, envelope)
            except Exception as error:  # noqa: BLE001 - any failure of a handler is the job's failure
                return await self._failed(job, f"{handler.name}: {type(error).__name__}: {error}")
        async with self._uow as uow:
            job.succeed(self._clock.now())
            await uow.jobs.save(job)
            await uow.commit()
        return JobOutcome(done=True)

    async def _start(self, envelope: Envelope) -> tuple[Job, set[str]] | None:
        """The job, started, and the handlers done with its event already; ``None`` when the
        job finished before. One block that writes, so no pooled connection is held while
        the handlers work."""
        async with self._uow as uow:
            now = self._clock.now()
            job = await uow.jobs.get(envelope.event_id)
            if job is not None and job.finished:
                return None
            if job is None:
                job = Job.queue(event_id=envelope.event_id, name=envelope.name, now=now)
                job.start(now)
                await uow.jobs.add(job)
            else:
                job.start(now)
                await uow.jobs.save(job)
            done = await uow.handled.of(envelope.event_id)
            await uow.commit()
        return job, done

    async def _run(self, handler: EventHandler, envelope: Envelope) -> None:
        await handler(envelope)
        async with self._uow as uow:
            await uow.handled.add(envelope.event_id, handler.name, self._clock.now())
            await uow.commit()

    async def _failed(self, job: Job, error: str) -> JobOutcome:
        async with self._uow as uow:
            delay = job.fail(error, self._clock.now(), self._backoff, self._random.random())
            await uow.jobs.save(job)
            await uow.commit()
        return JobOutcome(done=delay is None, retry_in=delay)
