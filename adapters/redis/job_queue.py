"""``ArqJobQueue``: recorded jobs become arq jobs, the event id as the job id."""

from __future__ import annotations

import uuid

import msgspec
from arq.connections import ArqRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

from adapters.shared.event_codec import to_json
from application.errors import DependencyUnavailableError
from application.jobs.ports import JobQueue
from application.shared.events import Envelope

__all__ = ["HANDLE_EVENT", "QUEUE_NAME", "ArqJobQueue", "arq_redis", "deserialize", "serialize"]

HANDLE_EVENT = "handle_event"
"""The worker function every relayed event is queued for; it runs the event's handlers."""
QUEUE_NAME = "portside:jobs"


def serialize(job: dict[str, object]) -> bytes:
    """Jobs travel as msgpack, never pickle: a Redis writer cannot make a worker run code."""
    return msgspec.msgpack.encode(job)


def deserialize(data: bytes) -> dict[str, object]:
    return msgspec.msgpack.decode(data, type=dict[str, object])


def arq_redis(redis: Redis) -> ArqRedis:
    """arq's client over ``redis``'s connection pool (closed with it)."""
    return ArqRedis(
        connection_pool=redis.connection_pool,
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=QUEUE_NAME,
    )


class ArqJobQueue(JobQueue):
    """arq refuses a job id while the job or its result is kept (``keep_result``), which
    covers a relay repeating itself; ``HandleEvent`` does nothing for a finished job, which
    covers anything later than that."""

    def __init__(self, redis: ArqRedis) -> None:
        self._redis = redis

    async def enqueue(self, envelope: Envelope) -> bool:
        return await self._enqueue(envelope, str(envelope.event_id))

    async def requeue(self, envelope: Envelope) -> None:
        # The first run's id is kept with its result for an hour: a retry needs an id of its own.
        await self._enqueue(envelope, f"{envelope.event_id}:retry:{uuid.uuid4().hex}")

    async def _enqueue(self, envelope: Envelope, job_id: str) -> bool:
        try:
            job = await self._redis.enqueue_job(HANDLE_EVENT, to_json(envelope), _job_id=job_id)
        except (RedisError, OSError) as error:
            raise DependencyUnavailableError("redis") from error
        return job is not None
