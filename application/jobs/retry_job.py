"""``RetryJob``: an admin queues a dead letter again."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.errors import NotFoundError
from application.jobs.policy import JobPolicy
from application.jobs.ports import JobQueue, JobsUnitOfWork
from application.shared.actor import Actor
from application.shared.authorization import Action, enforce
from application.shared.ports import Clock
from domain.jobs.job import Job
from domain.shared.errors import IllegalTransitionError


@dataclass(frozen=True, slots=True)
class RetryJobCommand:
    actor: Actor | None
    job_id: UUID


class RetryJob:
    """A failed job gets a fresh set of attempts and is queued again; any other status is
    an illegal transition (409). The record is committed queued before the queue hears of
    it: if the queue is down (503), the job is listed as queued and an admin's next retry
    finds it not failed; the in-process runner picks it up by itself.

    Its handlers that succeeded before stay done: a retry repeats only what failed.
    """

    def __init__(self, uow: JobsUnitOfWork, queue: JobQueue, policy: JobPolicy, clock: Clock) -> None:
        self._uow = uow
        self._queue = queue
        self._policy = policy
        self._clock = clock

    async def __call__(self, cmd: RetryJobCommand) -> Job:
        enforce(self._policy.decide(cmd.actor, Action.EDIT), cmd.actor, "retry jobs")
        async with self._uow as uow:
            job = await uow.jobs.get(cmd.job_id)
            envelope = await uow.jobs.envelope(cmd.job_id)
            if job is None or envelope is None:
                raise NotFoundError("job", cmd.job_id)
            job.retry(self._clock.now())
            if not await uow.jobs.save(job):
                raise IllegalTransitionError("the job changed meanwhile (another retry?); look at it again")
            await uow.commit()
        await self._queue.requeue(envelope)
        return job
