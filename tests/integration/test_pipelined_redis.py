"""PipelinedRedis on real Redis: every caller gets its own reply, whatever the others do."""

from __future__ import annotations

import asyncio
import gc
import uuid
from datetime import timedelta

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from adapters.redis.pipelined import PipelinedRedis
from adapters.redis.rate_limiter import RedisRateLimiter
from application.shared.rate_limits import RateLimit


class SilentProxy:
    """A TCP proxy to Redis whose connections can go silent: nothing forwarded either way,
    nothing closed, as a failover behind an address or a dropped NAT entry looks."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._silenced = 0  # connections up to this one say nothing more
        self._stalled = 0  # connections up to this one read nothing more
        self.accepted = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"redis://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/0"

    async def __aexit__(self, *_: object) -> None:
        self._server.close()
        for task in self._tasks:
            task.cancel()
        for writer in self._writers:
            writer.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def silence(self) -> None:
        """The connections made so far say nothing more, and stay open."""
        self._silenced = self.accepted

    def stall(self) -> None:
        """The connections made so far read nothing more from the client: its writes back up."""
        self._stalled = self.accepted

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        number = self.accepted
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        self._writers += [writer, upstream_writer]

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while True:
                if source is reader and number <= self._stalled:
                    await asyncio.Event().wait()
                data = await source.read(65536)
                if not data:
                    return
                if number > self._silenced:
                    sink.write(data)

        for task in (pump(reader, upstream_writer), pump(upstream_reader, writer)):
            running = asyncio.ensure_future(task)
            self._tasks.add(running)


def _key() -> str:
    return f"portside-test:{uuid.uuid4().hex}"


async def test_overlapping_commands_each_get_their_own_reply(pipelined: PipelinedRedis) -> None:
    replies = await asyncio.gather(*(pipelined.execute("ECHO", f"reply {n}") for n in range(500)))
    assert replies == [f"reply {n}".encode() for n in range(500)]


async def test_all_of_them_go_over_one_connection(pipelined: PipelinedRedis) -> None:
    ids = await asyncio.gather(*(pipelined.execute("CLIENT", "ID") for _ in range(50)))
    assert len(set(ids)) == 1


async def test_a_caller_that_stops_waiting_leaves_the_replies_of_the_others_in_place(pipelined: PipelinedRedis) -> None:
    # BLPOP on an empty list holds this connection (only this one) for 0.3 s, then answers nil.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(pipelined.execute("BLPOP", _key(), 0.3), 0.05)
    assert await pipelined.execute("ECHO", "mine") == b"mine"  # not the BLPOP's late nil
    assert await pipelined.execute("ECHO", "next") == b"next"


async def test_an_error_reply_is_its_commands_alone(pipelined: PipelinedRedis, redis: Redis) -> None:
    key = _key()
    await redis.set(key, "not a number")
    failed, echoed = await asyncio.gather(
        pipelined.execute("INCR", key), pipelined.execute("ECHO", "fine"), return_exceptions=True
    )
    assert isinstance(failed, ResponseError) and echoed == b"fine"
    assert await pipelined.execute("ECHO", "still fine") == b"still fine"
    await redis.delete(key)


async def test_a_connection_the_server_closed_while_idle_is_replaced_before_a_command_is_lost(
    pipelined: PipelinedRedis, redis: Redis
) -> None:
    first = await pipelined.execute("CLIENT", "ID")
    assert await redis.execute_command("CLIENT", "KILL", "ID", first) == 1  # as a restart would
    await asyncio.sleep(0.05)  # the close has reached this side's socket
    assert await pipelined.execute("ECHO", "after") == b"after"
    assert await pipelined.execute("CLIENT", "ID") != first


async def test_a_connection_that_fails_with_replies_owed_fails_them_all_and_the_next_command_reconnects(
    pipelined: PipelinedRedis, redis: Redis
) -> None:
    first = await pipelined.execute("CLIENT", "ID")
    blocked = asyncio.ensure_future(pipelined.execute("BLPOP", _key(), 2))
    behind = asyncio.ensure_future(pipelined.execute("ECHO", "behind"))
    await asyncio.sleep(0.1)
    await redis.execute_command("CLIENT", "KILL", "ID", first)
    for owed in (blocked, behind):
        with pytest.raises(RedisConnectionError):
            await asyncio.wait_for(owed, 1)
    assert await pipelined.execute("ECHO", "again") == b"again"


async def test_a_connection_that_went_silent_is_replaced_once_a_reply_is_overdue(redis_url: str) -> None:
    proxy = SilentProxy(("127.0.0.1", int(redis_url.rsplit(":", 1)[1].split("/")[0])))
    async with proxy as url:
        silent = PipelinedRedis.from_url(url, stale_after=0.3)
        try:
            assert await silent.execute("ECHO", "before") == b"before"
            proxy.silence()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(silent.execute("ECHO", "lost"), 0.1)
            with pytest.raises(TimeoutError):  # not overdue yet: still sent on the silent one
                await asyncio.wait_for(silent.execute("ECHO", "lost too"), 0.1)
            await asyncio.sleep(0.3)
            assert await asyncio.wait_for(silent.execute("ECHO", "after"), 1) == b"after"
            assert proxy.accepted == 2
        finally:
            await silent.aclose()


async def test_a_caller_cancelled_while_its_write_waits_ends_the_others_waits_too(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = SilentProxy(("127.0.0.1", int(redis_url.rsplit(":", 1)[1].split("/")[0])))
    async with proxy as url:
        stalled = PipelinedRedis.from_url(url)
        try:
            assert await stalled.execute("ECHO", "before") == b"before"
            proxy.stall()
            big = "x" * (4 << 20)  # more than the socket buffers hold: the writes wait
            waiting = [asyncio.ensure_future(stalled.execute("ECHO", big)) for _ in range(2)]
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(stalled.execute("ECHO", big), 0.3)
            ended = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), 2)
            assert all(isinstance(outcome, (RedisError, OSError)) for outcome in ended), ended
            assert await asyncio.wait_for(stalled.execute("ECHO", "after"), 1) == b"after"  # a new connection
        finally:
            await stalled.aclose()
    gc.collect()  # a future whose exception nobody retrieved is reported when collected
    assert "never retrieved" not in caplog.text


async def test_a_closed_connection_sends_nothing_more(redis_url: str) -> None:
    closing = PipelinedRedis.from_url(redis_url)
    assert await closing.execute("ECHO", "open") == b"open"
    await closing.aclose()
    with pytest.raises(RedisConnectionError):
        await closing.execute("PING")


async def test_nothing_listening_is_a_redis_error() -> None:
    nowhere = PipelinedRedis.from_url("redis://127.0.0.1:1/0", connect_timeout=0.2)  # nothing listens on port 1
    with pytest.raises(RedisError):
        await nowhere.execute("PING")
    await nowhere.aclose()


async def test_the_limiter_sends_its_script_again_to_a_redis_that_forgot_it(
    pipelined: PipelinedRedis, redis: Redis
) -> None:
    limiter = RedisRateLimiter(pipelined, prefix=_key() + ":")
    rate = RateLimit(limit=2, window=timedelta(minutes=1))
    assert (await limiter.take("a", rate)) is not None
    await redis.script_flush()  # what a restarted Redis knows of scripts
    quota = await limiter.take("a", rate)
    assert quota is not None and quota.remaining == 0 and quota.allowed
    assert limiter.failed_open == 0


async def test_a_command_sent_as_the_loop_learns_the_connection_ended_is_a_redis_error(
    pipelined: PipelinedRedis,
) -> None:
    """The event loop has closed the transport (the server went away while a reply was owed)
    and the reader has not run yet: the next command goes out on a new connection, not into
    the closed one (where uvloop raised ``RuntimeError``: a 500 under a Redis restart)."""
    blocked = asyncio.ensure_future(pipelined.execute("BLPOP", _key(), 2))
    await asyncio.sleep(0.05)
    line = pipelined._line
    assert line is not None and line.owed
    line._transport.abort()  # type: ignore[union-attr]  # closed, as the loop does on the server's close
    assert await pipelined.execute("ECHO", "after") == b"after"  # on a new connection
    with pytest.raises(RedisConnectionError):
        await asyncio.wait_for(blocked, 1)
    assert await pipelined.execute("ECHO", "again") == b"again"


async def test_any_failure_to_write_is_a_redis_connection_error(
    pipelined: PipelinedRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the transport raises when it is gone (uvloop: ``RuntimeError`` for a closed
    handle) reaches callers as redis-py's ``ConnectionError``, which they handle."""
    assert await pipelined.execute("ECHO", "before") == b"before"
    line = pipelined._line
    assert line is not None

    async def closed_handle(*_: object, **__: object) -> None:
        raise RuntimeError("unable to perform operation on <TCPTransport closed=True>; the handler is closed")

    monkeypatch.setattr(line.connection, "send_packed_command", closed_handle)
    with pytest.raises(RedisConnectionError) as failed:
        await pipelined.execute("ECHO", "lost")
    assert isinstance(failed.value.__cause__, RuntimeError)
    assert await pipelined.execute("ECHO", "after") == b"after"  # a new connection
