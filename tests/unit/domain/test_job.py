"""The job record's rules: bounded, jittered backoff; retries end in a dead letter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.jobs.job import Backoff, Job, JobStatus
from domain.shared.errors import IllegalTransitionError

T = datetime(2026, 11, 30, tzinfo=UTC)
LEASE = timedelta(minutes=5)
backoffs = st.builds(
    Backoff,
    max_attempts=st.integers(1, 8),
    base=st.integers(1, 60).map(lambda s: timedelta(seconds=s)),
    cap=st.integers(1, 3600).map(lambda s: timedelta(seconds=s)),
)


@given(backoff=backoffs, attempt=st.integers(1, 100), fraction=st.floats(-1, 2))
def test_a_delay_is_never_negative_nor_above_the_cap_or_the_doubling(
    backoff: Backoff, attempt: int, fraction: float
) -> None:
    delay = backoff.delay(attempt, fraction)
    assert timedelta(0) <= delay <= backoff.cap
    assert delay.total_seconds() <= backoff.base.total_seconds() * 2.0 ** (attempt - 1)


def test_full_jitter_spans_zero_to_the_ceiling() -> None:
    backoff = Backoff(base=timedelta(seconds=2), cap=timedelta(seconds=30))
    assert [backoff.delay(3, f) for f in (0.0, 0.5, 1.0)] == [timedelta(0), timedelta(seconds=4), timedelta(seconds=8)]
    assert backoff.delay(10, 1.0) == timedelta(seconds=30)


@given(backoff=backoffs, fractions=st.lists(st.floats(0, 1), min_size=8, max_size=8))
def test_failing_every_attempt_ends_in_a_dead_letter_after_exactly_max_attempts(
    backoff: Backoff, fractions: list[float]
) -> None:
    job = Job.queue(event_id=uuid4(), name="user.registered", now=T)
    now = T
    for attempt, fraction in enumerate(fractions, start=1):
        job.start(now, LEASE)
        assert job.held(now) and not job.held(now + LEASE)
        delay = job.fail("boom" * 200, now, backoff, fraction)
        assert job.last_error is not None and len(job.last_error) <= 500
        assert job.lease_until is None and not job.held(now)
        if attempt == backoff.max_attempts:
            assert delay is None and job.status is JobStatus.FAILED and job.finished_at == now
            break
        assert delay is not None and job.status is JobStatus.QUEUED and job.run_at == now + delay
        now = job.run_at
    assert job.attempts == backoff.max_attempts


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED])
def test_only_a_dead_letter_can_be_retried(status: JobStatus) -> None:
    job = Job.queue(event_id=uuid4(), name="user.registered", now=T)
    job.status = status
    with pytest.raises(IllegalTransitionError):
        job.retry(T)


def test_every_transition_bumps_the_version_once() -> None:
    job = Job.queue(event_id=uuid4(), name="user.registered", now=T)
    versions = [job.version]
    job.start(T, LEASE)
    versions.append(job.version)
    job.fail("boom", T, Backoff(max_attempts=1), 0.5)
    versions.append(job.version)
    job.retry(T)
    versions.append(job.version)
    job.start(T, LEASE)
    versions.append(job.version)
    job.succeed(T)
    versions.append(job.version)
    assert versions == list(range(1, 7))


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED])
def test_a_finished_job_cannot_start(status: JobStatus) -> None:
    job = Job.queue(event_id=uuid4(), name="user.registered", now=T)
    job.status = status
    with pytest.raises(IllegalTransitionError):
        job.start(T, LEASE)


def test_a_running_job_is_held_only_until_its_lease_runs_out() -> None:
    job = Job.queue(event_id=uuid4(), name="user.registered", now=T)
    assert not job.held(T) and not job.interrupted
    job.start(T, LEASE)
    assert job.held(T + LEASE - timedelta(microseconds=1))
    assert not job.held(T + LEASE) and job.interrupted  # its worker died: another may start it
    job.succeed(T + timedelta(seconds=1))
    assert not job.held(T + timedelta(seconds=2)) and job.lease_until is None


def test_a_released_job_is_due_at_once_and_its_attempt_does_not_count() -> None:
    job = Job.queue(event_id=uuid4(), name="user.registered", now=T)
    job.start(T, LEASE)
    job.release(T + timedelta(seconds=3))
    assert (job.status, job.attempts, job.lease_until, job.run_at) == (
        JobStatus.QUEUED,
        0,
        None,
        T + timedelta(seconds=3),
    )
    with pytest.raises(IllegalTransitionError):
        job.release(T)  # only a running job
