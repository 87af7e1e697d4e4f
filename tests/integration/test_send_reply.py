"""Admin replies through the embedded profile's worker (the relay, the job runner and
``SendReply``, as ``portside serve`` runs them without Redis) and the real Bot API client,
against the fake Bot API, on memory and PostgreSQL: each reply at most once, by the rules of
campaign deliveries.

The app's clock is fixed: a retry falls due only when a test moves it, so "the job waits its
``retry_after``" is checked on the job's own clock, not on the wall. Pacing is out of the way
(its own tests are elsewhere): every send slot is free at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TypeVar
from uuid import uuid4

import pytest

from adapters.memory.send_pacer import InMemorySendPacer
from adapters.telegram.http_client import HttpTelegramClient
from application.chat.ports import ChatUnitOfWork
from application.chat.reply import Reply, ReplyCommand
from application.jobs.due_jobs import RunnerRules
from application.jobs.list_jobs import ListJobs, ListJobsCommand
from application.jobs.relay_outbox import RelayRules
from application.jobs.retry_job import RetryJob, RetryJobCommand
from application.shared.actor import Actor
from application.telegram.client import TelegramClient
from application.telegram.pacing import SendLimits, SendPacer
from domain.chat.chat import Message, MessageId, MessageStatus, ThreadId
from domain.identity.ids import SessionId
from domain.identity.user import Role
from domain.jobs.job import Backoff, Job, JobStatus
from domain.shared.ids import UserId
from entrypoints.testing.harness import Harness, harness_settings, overriding
from entrypoints.worker.loops import in_process_jobs
from tests.support.builders import T0
from tests.support.fake_telegram import Behaviour, FakeTelegram, drop, hang, ok, retry_after, server_error
from tests.support.server import restartable_port

T = TypeVar("T")

CHAT = 700
ADMIN = Actor(user_id=UserId(uuid4()), session_id=SessionId(uuid4()), role=Role.ADMIN)
READ_TIMEOUT = 0.5
"""The client's read timeout: how long a hung request takes to count as ``unknown_outcome``."""
RETRY_AFTER = 5
BACKOFF = Backoff(max_attempts=3, base=timedelta(seconds=1), cap=timedelta(seconds=1))
"""Its own waits are a second at most: a job that waits ``RETRY_AFTER`` waits for the 429."""
REPLY_JOB = "chat.reply_queued"


@asynccontextmanager
async def _app(
    memory_or_postgres_url: str,
    fake: FakeTelegram,
    api_base: str,
    *,
    backoff: Backoff = BACKOFF,
    read_timeout: float = READ_TIMEOUT,
) -> AsyncIterator[Harness]:
    """The app, its clock at ``T0``, sending with the real client to ``api_base``."""
    client = HttpTelegramClient(fake.token, api_base, read_timeout=read_timeout)
    providers = [
        overriding(TelegramClient, client),
        overriding(SendPacer, InMemorySendPacer(limits=SendLimits(per_second=1_000_000, per_chat_interval=0.0))),
        overriding(Backoff, backoff),
        overriding(RunnerRules, RunnerRules(poll=0.05)),
        overriding(RelayRules, RelayRules(idle_delay=0.02)),
    ]
    try:
        async with Harness(harness_settings(memory_or_postgres_url), *providers, start=T0) as app:
            yield app
    finally:
        await client.aclose()


async def _eventually(probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], what: str) -> T:
    deadline = asyncio.get_running_loop().time() + 10
    while not done(value := await probe()):
        assert asyncio.get_running_loop().time() < deadline, f"{what}: not within 10 s; last: {value!r}"
        await asyncio.sleep(0.02)
    return value


async def _queued_reply(app: Harness, text: str = "Thanks for writing!") -> MessageId:
    """The chat's thread (as its first message made it), and an admin's reply in it."""
    async with app.use(ChatUnitOfWork) as uow, uow:
        thread_id = await uow.threads.touch(CHAT, "Ada", app.clock.now(), ThreadId(uuid4()))
        await uow.commit()
    async with app.use(Reply) as reply:
        message = await reply(ReplyCommand(actor=ADMIN, thread_id=thread_id, text=text))
    return message.id


async def _stored(app: Harness, message_id: MessageId) -> Message:
    """The reply as stored (``sending`` shows here; the API shows it as ``pending``)."""
    async with app.use(ChatUnitOfWork) as uow, uow:
        message: Message | None = await uow.messages.get(message_id)
    assert message is not None
    return message


async def _settled(app: Harness, message_id: MessageId) -> Message:
    return await _eventually(
        lambda: _stored(app, message_id),
        lambda m: m.status in (MessageStatus.SENT, MessageStatus.FAILED),
        "the reply sent or failed",
    )


async def _job(app: Harness) -> Job | None:
    """The reply's job, once the relay recorded it."""
    async with app.use(ListJobs) as list_jobs:
        page = await list_jobs(ListJobsCommand(actor=ADMIN, size=100))
    return next((job for job in page.items if job.name == REPLY_JOB), None)


async def _job_becomes(app: Harness, status: JobStatus, attempts: int) -> Job:
    job = await _eventually(
        lambda: _job(app),
        lambda j: j is not None and (j.status, j.attempts) == (status, attempts),
        f"the job {status} after {attempts} attempts",
    )
    assert job is not None
    return job


def _outcomes(fake: FakeTelegram) -> list[str]:
    return [call.outcome for call in fake.calls_for(CHAT)]


async def _calls(fake: FakeTelegram) -> list[str]:
    return _outcomes(fake)


async def test_a_429_makes_the_reply_job_wait_its_retry_after_then_the_reply_is_sent_once(
    memory_or_postgres_url: str, fake: FakeTelegram
) -> None:
    fake.script(CHAT, retry_after(RETRY_AFTER, times=1))
    async with _app(memory_or_postgres_url, fake, fake.api_base) as app, in_process_jobs(app.container):
        message_id = await _queued_reply(app)
        waiting = await _job_becomes(app, JobStatus.QUEUED, attempts=1)
        assert waiting.run_at - app.clock.now() >= timedelta(seconds=RETRY_AFTER)
        assert waiting.last_error is not None and "ReplyNotSentError" in waiting.last_error
        assert (await _stored(app, message_id)).status is MessageStatus.PENDING  # provably not sent: back
        app.clock.advance(timedelta(seconds=RETRY_AFTER - 1))  # the backoff alone would be due by now
        await asyncio.sleep(0.3)  # several looks of the runner
        assert _outcomes(fake) == ["retry_after"]
        app.clock.advance(timedelta(seconds=1))
        sent = await _settled(app, message_id)
        await _job_becomes(app, JobStatus.SUCCEEDED, attempts=2)
        app.clock.advance(timedelta(hours=1))
        await asyncio.sleep(0.2)
    assert (sent.status, sent.error, sent.sent_at) == (MessageStatus.SENT, None, T0 + timedelta(seconds=RETRY_AFTER))
    assert _outcomes(fake) == ["retry_after", "accepted"]
    assert [call.text for call in fake.accepted_for(CHAT)] == ["Thanks for writing!"]


@pytest.mark.parametrize(
    "behaviour",
    [server_error(502), server_error(500), hang(), drop()],
    ids=["502", "500", "hang", "drop"],
)
async def test_an_answer_that_may_hide_a_delivery_fails_the_reply_as_unknown_outcome_after_one_call(
    memory_or_postgres_url: str, fake: FakeTelegram, behaviour: Behaviour
) -> None:
    fake.script(CHAT, behaviour)
    async with _app(memory_or_postgres_url, fake, fake.api_base) as app, in_process_jobs(app.container):
        message_id = await _queued_reply(app)
        failed = await _settled(app, message_id)
        job = await _job_becomes(app, JobStatus.SUCCEEDED, attempts=1)
        fake.script(CHAT, ok())  # were it sent again, Telegram would take it now
        app.clock.advance(timedelta(hours=1))  # and any retry would be due
        await asyncio.sleep(0.3)
        assert (await _stored(app, message_id)).status is MessageStatus.FAILED
    assert (failed.status, failed.error, failed.sent_at) == (MessageStatus.FAILED, "unknown_outcome", None)
    assert job.last_error is None  # an ending, not a failure of the job: nothing to retry
    assert _outcomes(fake) == [behaviour.kind]


async def test_a_rerun_that_finds_the_reply_sending_fails_it_as_unknown_outcome_without_a_second_call(
    memory_or_postgres_url: str, fake: FakeTelegram
) -> None:
    fake.script(CHAT, hang())
    async with _app(memory_or_postgres_url, fake, fake.api_base, read_timeout=30) as app:
        message_id = await _queued_reply(app)
        async with in_process_jobs(app.container, grace=0.1):
            await _eventually(lambda: _calls(fake), lambda calls: calls == ["hang"], "the reply on its way")
        # The process stopped mid-send: the request may have reached Telegram, and the
        # attempt was cut short before it recorded anything.
        assert (await _stored(app, message_id)).status is MessageStatus.SENDING
        fake.script(CHAT, ok())
        async with in_process_jobs(app.container):
            failed = await _settled(app, message_id)
            await _job_becomes(app, JobStatus.SUCCEEDED, attempts=1)
            await asyncio.sleep(0.2)
    assert (failed.status, failed.error, failed.sent_at) == (MessageStatus.FAILED, "unknown_outcome", None)
    assert _outcomes(fake) == ["hang"]


async def test_a_reply_whose_job_became_a_dead_letter_stays_pending_and_a_retry_sends_it_once(
    memory_or_postgres_url: str,
) -> None:
    """Telegram unreachable (connections refused) through every attempt; then it is back,
    and an admin retries the dead letter (``RetryJob``, what ``POST /jobs/{id}/retry`` calls)."""
    port = restartable_port()
    fake = FakeTelegram(port=port)  # not listening yet
    backoff = Backoff(max_attempts=2, base=timedelta(seconds=1), cap=timedelta(seconds=1))
    try:
        async with (
            _app(memory_or_postgres_url, fake, f"http://127.0.0.1:{port}", backoff=backoff) as app,
            in_process_jobs(app.container),
        ):
            message_id = await _queued_reply(app)
            await _job_becomes(app, JobStatus.QUEUED, attempts=1)
            app.clock.advance(timedelta(seconds=1))
            dead = await _job_becomes(app, JobStatus.FAILED, attempts=2)
            app.clock.advance(timedelta(hours=1))
            await asyncio.sleep(0.3)  # a dead letter is not run again by itself
            assert (await _stored(app, message_id)).status is MessageStatus.PENDING  # never lost
            still = await _job(app)
            assert still is not None and (still.status, still.attempts) == (JobStatus.FAILED, 2)

            await fake.start()
            async with app.use(RetryJob) as retry:
                await retry(RetryJobCommand(actor=ADMIN, job_id=dead.id))
            sent = await _settled(app, message_id)
            await _job_becomes(app, JobStatus.SUCCEEDED, attempts=1)
            await asyncio.sleep(0.2)
    finally:
        await fake.close()
    assert (sent.status, sent.error) == (MessageStatus.SENT, None)
    assert _outcomes(fake) == ["accepted"]
