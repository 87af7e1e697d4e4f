"""``Job``: the record of handling one relayed event, with its retries and its dead letter."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from domain.shared.errors import IllegalTransitionError


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """A dead letter: every attempt failed. Only an explicit retry queues it again."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Bounded exponential backoff with full jitter: attempt ``n`` waits up to
    ``min(cap, base * 2 ** (n - 1))``, scaled by a random fraction the caller draws."""

    max_attempts: int = 10
    base: timedelta = timedelta(seconds=4)
    cap: timedelta = timedelta(minutes=10)
    """With these defaults the nine waits are at most 4 s, 8 s, ... 512 s and 600 s (27 min
    in all, half that on average): a dependency down for a few minutes does not turn every
    job into a dead letter."""

    def delay(self, attempt: int, fraction: float) -> timedelta:
        doubled = self.base.total_seconds() * 2.0 ** min(max(0, attempt - 1), 64)  # a float: no overflow
        ceiling = min(self.cap.total_seconds(), doubled)
        return timedelta(seconds=ceiling * min(max(fraction, 0.0), 1.0))


_ERROR_MAX = 500


@dataclass(slots=True, kw_only=True, eq=False)
class Job:
    """One relayed event's handling. Each transition bumps ``version``, and a record is
    stored by compare-and-set on it, so of two workers that start one job, one does."""

    id: UUID
    """The event id: one job per relayed event."""
    name: str
    """The event's public name (``user.registered``)."""
    status: JobStatus
    attempts: int
    last_error: str | None
    enqueued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    run_at: datetime
    """When the next attempt is due."""
    lease_until: datetime | None = None
    """While running: until when the worker that started it holds it. A running job whose
    lease lapsed was interrupted (its worker died) and may be started again."""
    version: int = 1

    @classmethod
    def queue(cls, *, event_id: UUID, name: str, now: datetime) -> Job:
        return cls(
            id=event_id,
            name=name,
            status=JobStatus.QUEUED,
            attempts=0,
            last_error=None,
            enqueued_at=now,
            started_at=None,
            finished_at=None,
            run_at=now,
        )

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)

    def held(self, now: datetime) -> bool:
        """Whether a live worker is running it now."""
        return self.status is JobStatus.RUNNING and self.lease_until is not None and self.lease_until > now

    @property
    def interrupted(self) -> bool:
        """Found running by someone about to start it: its last attempt never ended."""
        return self.status is JobStatus.RUNNING

    def start(self, now: datetime, lease: timedelta) -> None:
        if self.finished:
            raise IllegalTransitionError(f"a {self.status} job cannot start")
        self.status = JobStatus.RUNNING
        self.attempts += 1
        self.started_at = now
        self.lease_until = now + lease
        self.version += 1

    def succeed(self, now: datetime) -> None:
        self.status = JobStatus.SUCCEEDED
        self.last_error = None
        self.finished_at = now
        self.lease_until = None
        self.version += 1

    def fail(
        self, error: str, now: datetime, backoff: Backoff, fraction: float, at_least: timedelta = timedelta(0)
    ) -> timedelta | None:
        """Record a failed attempt: the delay before the next one (the backoff's, or
        ``at_least`` when the failure asked for longer: a ``retry_after``), or ``None`` when
        that was the last attempt and the job is now a dead letter."""
        self.last_error = error[:_ERROR_MAX]
        self.lease_until = None
        self.version += 1
        if self.attempts >= backoff.max_attempts:
            self.status = JobStatus.FAILED
            self.finished_at = now
            return None
        delay = max(backoff.delay(self.attempts, fraction), at_least)
        self.status = JobStatus.QUEUED
        self.run_at = now + delay
        return delay

    def release(self, now: datetime) -> None:
        """Give a running job back, due now, when its attempt was cut short from outside
        (the worker is shutting down, the database went away mid-bookkeeping): the attempt
        does not count, and the next worker need not wait out the lease."""
        if self.status is not JobStatus.RUNNING:
            raise IllegalTransitionError(f"only a running job can be released; this one is {self.status}")
        self.status = JobStatus.QUEUED
        self.attempts -= 1
        self.run_at = now
        self.lease_until = None
        self.version += 1

    def retry(self, now: datetime) -> None:
        """Queue a dead letter again, with a fresh set of attempts."""
        if self.status is not JobStatus.FAILED:
            raise IllegalTransitionError(f"only a failed job can be retried; this one is {self.status}")
        self.status = JobStatus.QUEUED
        self.attempts = 0
        self.finished_at = None
        self.run_at = now
        self.version += 1
