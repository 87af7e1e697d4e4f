"""``HandleEvent``: one job, one relayed event, every handler of its name run once in effect."""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from datetime import timedelta

from application.errors import RetryLaterError
from application.jobs.ports import JobsUnitOfWork
from application.shared.events import Envelope
from application.shared.handlers import EventHandler
from application.shared.ports import Clock
from domain.jobs.job import Backoff, Job

__all__ = ["EventHandlers", "HandleEvent", "JobOutcome", "JobRules"]


@dataclass(frozen=True, slots=True)
class EventHandlers:
    """Every handler the process knows. The jobs context provides an empty set; each
    context adds its own handlers to it (a dishka ``decorate`` in its provider module)."""

    all: tuple[EventHandler, ...] = ()

    def of(self, event_name: str) -> list[EventHandler]:
        return [handler for handler in self.all if event_name in handler.events]


@dataclass(frozen=True, slots=True)
class JobRules:
    backoff: Backoff = field(default_factory=Backoff)
    lease: timedelta = timedelta(minutes=5)
    """How long a worker holds a job it started. The handlers get nine tenths of it: past
    that, the attempt has failed (timed out), before anyone else may take the job over."""

    @property
    def time_limit(self) -> float:
        return self.lease.total_seconds() * 0.9


@dataclass(frozen=True, slots=True)
class JobOutcome:
    done: bool
    """The job needs no more attempts here: it succeeded, it is a dead letter, it had
    finished already, or another worker took it over."""
    retry_in: timedelta | None = None
    """When ``done`` is false: how long to wait before the next attempt."""


class HandleEvent:
    """Run the handlers of ``envelope``'s event, recording the job as it goes.

    - The job is started by compare-and-set, under a lease: of two workers that get one
      job (a redelivery, a sweep), one runs it; the other is told to come back when the
      lease runs out, and then finds the job finished.
    - A job that finished already does nothing.
    - Each handler that returns is recorded done for this event; a later attempt skips it,
      so one failing handler never makes another repeat its effect.
    - A handler that raises, or runs past the time limit (nine tenths of the lease, from
      the start), fails the attempt: the job is queued again after a bounded, jittered
      exponential backoff (never shorter than the ``retry_after`` of a
      ``RetryLaterError``), or, after its last attempt, becomes a dead letter.
    - An attempt cut short from outside (a cancellation, the database lost while
      recording) gives the job back, due at once, without counting it.
    - A running job whose lease lapsed was interrupted (its worker died): that attempt
      counts, so a job that kills its worker every time also ends as a dead letter.
    """

    def __init__(self, uow: JobsUnitOfWork, handlers: EventHandlers, clock: Clock, rules: JobRules) -> None:
        self._uow = uow
        self._handlers = handlers
        self._clock = clock
        self._rules = rules
        self._random = random.Random()  # noqa: S311 - jitter, not secrets

    async def __call__(self, envelope: Envelope) -> JobOutcome:
        started = await self._start(envelope)
        if isinstance(started, JobOutcome):
            return started
        job, done = started
        deadline = asyncio.get_running_loop().time() + self._rules.time_limit
        try:
            for handler in self._handlers.of(envelope.name):
                if handler.name not in done:
                    await self._run(handler, envelope, deadline)
        except _HandlerFailed as failure:
            return await self._failed(job, failure)
        except BaseException:
            await self._give_back(job)
            raise
        async with self._uow as uow:
            job.succeed(self._clock.now())
            await uow.jobs.save(job)
            await uow.commit()
        return JobOutcome(done=True)

    async def _start(self, envelope: Envelope) -> tuple[Job, set[str]] | JobOutcome:
        """The job, started, and the handlers done with its event already; or the outcome
        when it is not this worker's to run. One block that writes, so no pooled connection
        is held while the handlers work."""
        async with self._uow as uow:
            now = self._clock.now()
            job = await uow.jobs.get(envelope.event_id)
            if job is None:  # queued without a record (by hand, or by an older relay)
                job = Job.queue(event_id=envelope.event_id, name=envelope.name, now=now)
                if not await uow.jobs.add(job, envelope):
                    return JobOutcome(done=False, retry_in=timedelta(seconds=1))  # recorded meanwhile
            if job.finished:
                return JobOutcome(done=True)
            if job.held(now):
                assert job.lease_until is not None
                return JobOutcome(done=False, retry_in=job.lease_until - now)
            if job.interrupted and job.attempts >= self._rules.backoff.max_attempts:
                job.fail(f"interrupted: the worker stopped during attempt {job.attempts}", now, self._rules.backoff, 0)
                await uow.jobs.save(job)
                await uow.commit()
                return JobOutcome(done=True)
            job.start(now, self._rules.lease)
            if not await uow.jobs.save(job):
                return JobOutcome(done=False, retry_in=self._rules.lease)  # another worker started it
            done = await uow.handled.of(envelope.event_id)
            await uow.commit()
        return job, done

    async def _run(self, handler: EventHandler, envelope: Envelope, deadline: float) -> None:
        """The handler, within what is left of the time limit; then its done-record, which
        the limit does not cut short (an effect that happened is recorded)."""
        try:
            async with asyncio.timeout_at(deadline):
                await handler(envelope)
        except TimeoutError as error:
            raise _HandlerFailed(handler.name, f"timed out after {self._rules.time_limit:g} s") from error
        except Exception as error:
            wait = timedelta(seconds=error.retry_after) if isinstance(error, RetryLaterError) else None
            raise _HandlerFailed(handler.name, f"{type(error).__name__}: {error}", wait) from error
        async with self._uow as uow:
            await uow.handled.add(envelope.event_id, handler.name, self._clock.now())
            await uow.commit()

    async def _give_back(self, job: Job) -> None:
        """Best effort, and shielded from the cancellation that may have brought us here:
        release the job so the next worker starts it at once. If this fails too, the lease
        lapses and the next start counts this attempt as interrupted."""

        async def release() -> None:
            async with self._uow as uow:
                job.release(self._clock.now())
                await uow.jobs.save(job)
                await uow.commit()

        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.shield(release())

    async def _failed(self, job: Job, failure: _HandlerFailed) -> JobOutcome:
        async with self._uow as uow:
            fraction = self._random.random()
            delay = job.fail(str(failure), self._clock.now(), self._rules.backoff, fraction, failure.at_least)
            await uow.jobs.save(job)
            await uow.commit()
        return JobOutcome(done=delay is None, retry_in=delay)


class _HandlerFailed(Exception):
    """A handler raised or ran out of time: the attempt failed. Anything else that escapes
    (the database gone while recording, a cancellation) gives the job back and propagates."""

    def __init__(self, handler: str, reason: str, at_least: timedelta | None = None) -> None:
        super().__init__(f"{handler}: {reason}")
        self.at_least = at_least or timedelta(0)
        """The shortest wait before the next attempt: the ``retry_after`` of a
        ``RetryLaterError`` (Telegram's 429)."""
