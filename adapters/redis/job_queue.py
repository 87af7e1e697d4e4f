"""``ArqJobQueue``: relayed events become arq jobs, the event id as the job id."""

from __future__ import annotations

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from adapters.shared.event_codec import encode
from application.errors import DependencyUnavailableError
from application.jobs.ports import JobQueue
from application.shared.events import Envelope

__all__ = ["HANDLE_EVENT", "ArqJobQueue"]

HANDLE_EVENT = "handle_event"
"""The worker function every relayed event is queued for; it runs the event's handlers."""


class ArqJobQueue(JobQueue):
    """arq refuses a job id while the job or its result is kept (``keep_result``), which
    covers a relay repeating itself; handlers stay idempotent by event id for anything
    later than that."""

    def __init__(self, redis: ArqRedis) -> None:
        self._redis = redis

    async def enqueue(self, envelope: Envelope) -> bool:
        try:
            job = await self._redis.enqueue_job(HANDLE_EVENT, encode(envelope), _job_id=str(envelope.event_id))
        except (RedisError, OSError) as error:
            raise DependencyUnavailableError("redis") from error
        return job is not None
