"""``HandleEvent`` on memory, SQLite and PostgreSQL: each handler's effect once per event,
retries with bounded backoff, dead letters, and the welcome e-mail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import ClassVar

import pytest

from application.errors import DependencyUnavailableError, RetryLaterError
from application.identity.register_user import RegisterUserCommand
from application.jobs.handle_event import EventHandlers, HandleEvent, JobOutcome, JobRules
from application.jobs.ports import JobsUnitOfWork
from application.shared.email import EmailSender
from application.shared.events import Envelope
from domain.jobs.job import Backoff, Job, JobStatus
from domain.shared.errors import IllegalTransitionError
from entrypoints.testing.harness import Harness, harness_settings, overriding
from tests.support.builders import T0
from tests.support.mail import RecordingSender

BACKOFF = Backoff(max_attempts=3, base=timedelta(seconds=2), cap=timedelta(seconds=30))


class Flaky:
    """A handler of ``user.registered`` that fails its first ``failures`` calls."""

    name: ClassVar[str] = "test.flaky"
    events: ClassVar[frozenset[str]] = frozenset({"user.registered"})

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self, envelope: Envelope) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(f"boom {self.calls}")


class Counting:
    name: ClassVar[str] = "test.counting"
    events: ClassVar[frozenset[str]] = frozenset({"user.registered"})

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, envelope: Envelope) -> None:
        self.calls += 1


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


@pytest.fixture
def mail() -> RecordingSender:
    return RecordingSender()


async def _app(database_url: str, mail: RecordingSender, *handlers: object) -> Harness:
    providers = [overriding(EmailSender, mail), overriding(Backoff, BACKOFF)]
    if handlers:
        providers.append(overriding(EventHandlers, EventHandlers(tuple(handlers))))  # type: ignore[arg-type]
    return Harness(harness_settings(database_url), *providers, start=T0)


@pytest.fixture
async def registered(database_url: str, mail: RecordingSender) -> AsyncIterator[tuple[Harness, Envelope]]:
    """A harness whose only event so far is one registration."""
    app = await _app(database_url, mail)
    async with app:
        await app.register(RegisterUserCommand(email="ada@example.com", password="a-sturdy-passphrase-42"))
        [event] = await app.events()
        yield app, event


async def _handle(app: Harness, envelope: Envelope) -> JobOutcome:
    async with app.use(HandleEvent) as handle:
        return await handle(envelope)


async def _job(app: Harness, envelope: Envelope) -> Job:
    async with app.use(JobsUnitOfWork) as uow, uow:
        job = await uow.jobs.get(envelope.event_id)
    assert job is not None
    return job


async def test_the_welcome_email_goes_once_per_registration(
    registered: tuple[Harness, Envelope], mail: RecordingSender
) -> None:
    app, event = registered
    assert await _handle(app, event) == JobOutcome(done=True)
    assert await _handle(app, event) == JobOutcome(done=True)  # redelivered: nothing more
    [message] = mail.sent
    assert (message.to, message.subject, message.key) == (
        "ada@example.com",
        "Welcome to portside",
        f"{event.event_id}.welcome",
    )
    job = await _job(app, event)
    assert (job.name, job.status, job.attempts, job.finished_at) == ("user.registered", JobStatus.SUCCEEDED, 1, T0)


async def test_a_failing_handler_retries_with_backoff_and_the_other_does_not_repeat(
    database_url: str, mail: RecordingSender
) -> None:
    flaky, counting = Flaky(failures=2), Counting()
    async with await _app(database_url, mail, counting, flaky) as app:
        await app.register(RegisterUserCommand(email="ada@example.com", password="a-sturdy-passphrase-42"))
        [event] = await app.events()
        for attempt in (1, 2):
            outcome = await _handle(app, event)
            assert not outcome.done and outcome.retry_in is not None
            assert timedelta(0) <= outcome.retry_in <= BACKOFF.base * 2 ** (attempt - 1)
            job = await _job(app, event)
            assert (job.status, job.attempts, job.last_error) == (
                JobStatus.QUEUED,
                attempt,
                f"test.flaky: RuntimeError: boom {attempt}",
            )
            assert job.run_at == T0 + outcome.retry_in
        assert await _handle(app, event) == JobOutcome(done=True)
        assert (counting.calls, flaky.calls) == (1, 3)  # the handler that succeeded ran once
        job = await _job(app, event)
        assert (job.status, job.attempts, job.last_error) == (JobStatus.SUCCEEDED, 3, None)


class Throttled:
    """A handler of ``user.registered`` told to wait (a 429's ``retry_after``) on its first call."""

    name: ClassVar[str] = "test.throttled"
    events: ClassVar[frozenset[str]] = frozenset({"user.registered"})

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, envelope: Envelope) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RetryLaterError("telegram", retry_after=120)


class DatabaseDown:
    """A handler of ``user.registered`` whose dependency is down, with no hint of when."""

    name: ClassVar[str] = "test.database_down"
    events: ClassVar[frozenset[str]] = frozenset({"user.registered"})

    async def __call__(self, envelope: Envelope) -> None:
        raise DependencyUnavailableError("database")


async def test_an_outage_without_a_hint_keeps_the_jittered_backoff(database_url: str, mail: RecordingSender) -> None:
    async with await _app(database_url, mail, DatabaseDown()) as app:
        await app.register(RegisterUserCommand(email="ada@example.com", password="a-sturdy-passphrase-42"))
        [event] = await app.events()
        outcome = await _handle(app, event)
        assert outcome.retry_in is not None and outcome.retry_in <= BACKOFF.base  # not the error's default 5 s


async def test_a_retry_after_is_waited_out_even_past_the_backoff(database_url: str, mail: RecordingSender) -> None:
    throttled = Throttled()
    async with await _app(database_url, mail, throttled) as app:
        await app.register(RegisterUserCommand(email="ada@example.com", password="a-sturdy-passphrase-42"))
        [event] = await app.events()
        outcome = await _handle(app, event)
        assert outcome == JobOutcome(done=False, retry_in=timedelta(seconds=120))  # the backoff says 2 s at most
        job = await _job(app, event)
        assert (job.status, job.run_at) == (JobStatus.QUEUED, T0 + timedelta(seconds=120))
        assert await _handle(app, event) == JobOutcome(done=True)


async def test_after_the_last_attempt_the_job_is_a_dead_letter_until_retried(
    database_url: str, mail: RecordingSender
) -> None:
    flaky = Flaky(failures=BACKOFF.max_attempts)
    async with await _app(database_url, mail, flaky) as app:
        await app.register(RegisterUserCommand(email="ada@example.com", password="a-sturdy-passphrase-42"))
        [event] = await app.events()
        outcomes = [await _handle(app, event) for _ in range(BACKOFF.max_attempts)]
        assert [o.done for o in outcomes] == [False] * (BACKOFF.max_attempts - 1) + [True]
        job = await _job(app, event)
        assert (job.status, job.attempts, job.finished_at) == (JobStatus.FAILED, BACKOFF.max_attempts, T0)
        assert await _handle(app, event) == JobOutcome(done=True)  # a dead letter is not run again
        assert flaky.calls == BACKOFF.max_attempts
        job.retry(T0)
        assert (job.status, job.attempts, job.finished_at) == (JobStatus.QUEUED, 0, None)
        with pytest.raises(IllegalTransitionError):
            job.retry(T0)


LEASE = timedelta(minutes=5)


async def _start_elsewhere(app: Harness, envelope: Envelope) -> None:
    """Another worker records and starts the job (and is then, maybe, killed)."""
    async with app.use(JobsUnitOfWork) as uow, uow:
        job = await uow.jobs.get(envelope.event_id)
        if job is None:
            job = Job.queue(event_id=envelope.event_id, name=envelope.name, now=app.clock.now())
            await uow.jobs.add(job, envelope)
        job.start(app.clock.now(), LEASE)
        assert await uow.jobs.save(job)
        await uow.commit()


async def test_a_job_another_worker_holds_is_left_to_it(database_url: str, mail: RecordingSender) -> None:
    counting = Counting()
    async with await _app(database_url, mail, counting) as app:
        await app.register(RegisterUserCommand(email="ada@example.com", password="a-sturdy-passphrase-42"))
        [event] = await app.events()
        await _start_elsewhere(app, event)
        app.clock.advance(timedelta(minutes=1))
        assert await _handle(app, event) == JobOutcome(done=False, retry_in=LEASE - timedelta(minutes=1))
        assert counting.calls == 0
        app.clock.advance(LEASE)  # the other worker died: its lease lapsed
        assert await _handle(app, event) == JobOutcome(done=True)
        assert counting.calls == 1
        job = await _job(app, event)
        assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2)  # the interrupted attempt counts


async def test_a_job_that_keeps_killing_its_worker_ends_as_a_dead_letter(
    database_url: str, mail: RecordingSender
) -> None:
    counting = Counting()
    async with await _app(database_url, mail, counting) as app:
        await app.register(RegisterUserCommand(email="ada@example.com", password="a-sturdy-passphrase-42"))
        [event] = await app.events()
        for _ in range(BACKOFF.max_attempts):
            await _start_elsewhere(app, event)
            app.clock.advance(LEASE)
        assert await _handle(app, event) == JobOutcome(done=True)
        job = await _job(app, event)
        assert (job.status, job.attempts, counting.calls) == (JobStatus.FAILED, BACKOFF.max_attempts, 0)
        assert job.last_error == f"interrupted: the worker stopped during attempt {BACKOFF.max_attempts}"


class Sleepy:
    name: ClassVar[str] = "test.sleepy"
    events: ClassVar[frozenset[str]] = frozenset({"user.registered"})

    async def __call__(self, envelope: Envelope) -> None:
        await asyncio.sleep(5)


async def test_handlers_past_the_time_limit_fail_the_attempt(database_url: str, mail: RecordingSender) -> None:
    rules = JobRules(backoff=BACKOFF, lease=timedelta(seconds=0.2))
    async with Harness(
        harness_settings(database_url),
        overriding(EmailSender, mail),
        overriding(JobRules, rules),
        overriding(EventHandlers, EventHandlers((Sleepy(),))),  # type: ignore[arg-type]
        start=T0,
    ) as app:
        await app.register(RegisterUserCommand(email="ada@example.com", password="a-sturdy-passphrase-42"))
        [event] = await app.events()
        outcome = await asyncio.wait_for(_handle(app, event), 3)
        assert not outcome.done
        job = await _job(app, event)
        assert (job.status, job.attempts) == (JobStatus.QUEUED, 1)
        assert job.last_error == "test.sleepy: timed out after 0.18 s"


async def test_an_attempt_cancelled_from_outside_gives_the_job_back_at_once(
    database_url: str, mail: RecordingSender
) -> None:
    """A worker shutting down cancels the attempt: the job is due again at once, the
    attempt does not count, and the next worker need not wait out the lease."""
    started = asyncio.Event()

    class Blocking:
        name: ClassVar[str] = "test.blocking"
        events: ClassVar[frozenset[str]] = frozenset({"user.registered"})

        async def __call__(self, envelope: Envelope) -> None:
            started.set()
            await asyncio.sleep(60)

    async with await _app(database_url, mail, Blocking()) as app:
        await app.register(RegisterUserCommand(email="ada@example.com", password="a-sturdy-passphrase-42"))
        [event] = await app.events()
        attempt = asyncio.create_task(_handle(app, event))
        await started.wait()
        attempt.cancel()
        with pytest.raises(asyncio.CancelledError):
            await attempt
        job = await _job(app, event)
        assert (job.status, job.attempts, job.lease_until, job.run_at) == (JobStatus.QUEUED, 0, None, T0)


async def test_two_workers_handling_one_job_at_once_run_its_handler_once(
    database_url: str, mail: RecordingSender
) -> None:
    calls = 0

    class Slow:
        name: ClassVar[str] = "test.slow"
        events: ClassVar[frozenset[str]] = frozenset({"user.registered"})

        async def __call__(self, envelope: Envelope) -> None:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.2)  # both workers are inside HandleEvent meanwhile

    async with await _app(database_url, mail, Slow()) as app:
        await app.register(RegisterUserCommand(email="ada@example.com", password="a-sturdy-passphrase-42"))
        [event] = await app.events()
        outcomes = await asyncio.gather(_handle(app, event), _handle(app, event))
        assert calls == 1
        assert JobOutcome(done=True) in outcomes
        job = await _job(app, event)
        assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)
