"""PipelinedRedis on real Redis: every caller gets its own reply, whatever the others do."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from adapters.redis.pipelined import PipelinedRedis
from adapters.redis.rate_limiter import RedisRateLimiter
from application.shared.rate_limits import RateLimit


@pytest.fixture
async def shared(redis_url: str) -> AsyncIterator[PipelinedRedis]:
    connection = PipelinedRedis.from_url(redis_url)
    yield connection
    await connection.aclose()


@pytest.fixture
async def admin(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


def _key() -> str:
    return f"portside-test:{uuid.uuid4().hex}"


async def test_overlapping_commands_each_get_their_own_reply(shared: PipelinedRedis) -> None:
    replies = await asyncio.gather(*(shared.execute("ECHO", f"reply {n}") for n in range(500)))
    assert replies == [f"reply {n}".encode() for n in range(500)]


async def test_all_of_them_go_over_one_connection(shared: PipelinedRedis) -> None:
    ids = await asyncio.gather(*(shared.execute("CLIENT", "ID") for _ in range(50)))
    assert len(set(ids)) == 1


async def test_a_caller_that_stops_waiting_leaves_the_replies_of_the_others_in_place(shared: PipelinedRedis) -> None:
    # BLPOP on an empty list holds this connection (only this one) for 0.3 s, then answers nil.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(shared.execute("BLPOP", _key(), 0.3), 0.05)
    assert await shared.execute("ECHO", "mine") == b"mine"  # not the BLPOP's late nil
    assert await shared.execute("ECHO", "next") == b"next"


async def test_an_error_reply_is_its_commands_alone(shared: PipelinedRedis, admin: Redis) -> None:
    key = _key()
    await admin.set(key, "not a number")
    failed, echoed = await asyncio.gather(
        shared.execute("INCR", key), shared.execute("ECHO", "fine"), return_exceptions=True
    )
    assert isinstance(failed, ResponseError) and echoed == b"fine"
    assert await shared.execute("ECHO", "still fine") == b"still fine"
    await admin.delete(key)


async def test_a_connection_the_server_closed_while_idle_is_replaced_before_a_command_is_lost(
    shared: PipelinedRedis, admin: Redis
) -> None:
    first = await shared.execute("CLIENT", "ID")
    assert await admin.execute_command("CLIENT", "KILL", "ID", first) == 1  # as a restart would
    await asyncio.sleep(0.05)  # the close has reached this side's socket
    assert await shared.execute("ECHO", "after") == b"after"
    assert await shared.execute("CLIENT", "ID") != first


async def test_a_connection_that_fails_with_replies_owed_fails_them_all_and_the_next_command_reconnects(
    shared: PipelinedRedis, admin: Redis
) -> None:
    first = await shared.execute("CLIENT", "ID")
    blocked = asyncio.ensure_future(shared.execute("BLPOP", _key(), 2))
    behind = asyncio.ensure_future(shared.execute("ECHO", "behind"))
    await asyncio.sleep(0.1)
    await admin.execute_command("CLIENT", "KILL", "ID", first)
    for owed in (blocked, behind):
        with pytest.raises(RedisConnectionError):
            await asyncio.wait_for(owed, 1)
    assert await shared.execute("ECHO", "again") == b"again"


async def test_nothing_listening_is_a_redis_error() -> None:
    nowhere = PipelinedRedis.from_url("redis://127.0.0.1:1/0", connect_timeout=0.2)  # nothing listens on port 1
    with pytest.raises(RedisError):
        await nowhere.execute("PING")
    await nowhere.aclose()


async def test_the_limiter_sends_its_script_again_to_a_redis_that_forgot_it(
    shared: PipelinedRedis, admin: Redis
) -> None:
    limiter = RedisRateLimiter(shared, prefix=_key() + ":")
    rate = RateLimit(limit=2, window=timedelta(minutes=1))
    assert (await limiter.take("a", rate)) is not None
    await admin.script_flush()  # what a restarted Redis knows of scripts
    quota = await limiter.take("a", rate)
    assert quota is not None and quota.remaining == 0 and quota.allowed
    assert limiter.failed_open == 0
