"""``PipelinedRedis``: one Redis connection that every coroutine of the process shares, for the
command every request sends (the API rate limit's hit).

redis-py's client takes a connection out of its pool for each command and puts it back: a
checkout under a condition, with a health check that waits out a zero timeout, then the
release. That cost about 95 µs of CPU per command, a fifth of a small request (README,
Performance). Here each command is written as soon as it is asked for and its reply is
matched in order by one reader: about 50 µs for a command alone, about 10 when requests
overlap, since their commands then share the system calls. redis-py still connects
(authentication, database, TLS, from the URL), packs the commands and parses the replies.

A connection that fails (a reset, the server gone) fails every command waiting on it with
``ConnectionError``, and the next command opens a new one. Before a command goes out on a
connection that owes no reply, the socket is asked whether the server is closing it (a
restart), so that command goes out on a new connection instead of being lost. A caller that
stops waiting (a timeout) leaves the connection as it is: its reply is read and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Any

from redis.asyncio import ConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from adapters.system.sockets import peer_is_ending

__all__ = ["PipelinedRedis"]


class _Line:
    """One connection and the replies it owes, oldest first."""

    def __init__(self, connection: AbstractConnection) -> None:
        self.connection = connection
        self.owed: deque[asyncio.Future[Any]] = deque()
        self.broken = False
        self._reader: asyncio.Task[None] | None = None
        self._closing: asyncio.Future[None] | None = None

    def usable(self) -> bool:
        if self.broken or not self.connection.is_connected:
            return False
        if not self.owed and peer_is_ending(_transport(self.connection)):
            self.broken = True
            self._close()
            return False
        return True

    async def execute(self, args: tuple[Any, ...]) -> Any:
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        packed = self.connection.pack_command(*args)
        # No await between queueing the reply and writing the command: the order holds.
        self.owed.append(reply)
        try:
            await self.connection.send_packed_command(packed, check_health=False)
        except BaseException as error:  # maybe half written: nothing after it can be matched
            self.fail(error)
            raise
        if self._reader is None:
            self._reader = asyncio.ensure_future(self._read())
        return await reply

    async def _read(self) -> None:
        try:
            while self.owed:
                try:
                    value: Any = await self.connection.read_response()
                except ResponseError as error:  # the command's own error: the line is fine
                    value = error
                reply = self.owed.popleft()
                if reply.done():  # its caller stopped waiting
                    continue
                if isinstance(value, ResponseError):
                    reply.set_exception(value)
                else:
                    reply.set_result(value)
        except BaseException as error:
            self.fail(error)
            if not isinstance(error, Exception):
                raise
        finally:
            self._reader = None

    def fail(self, error: BaseException) -> None:
        """Fail every reply owed and close the connection; the next command opens another."""
        self.broken = True
        while self.owed:
            reply = self.owed.popleft()
            if not reply.done():
                failure = RedisConnectionError(f"the Redis connection failed: {type(error).__name__}")
                failure.__cause__ = error
                reply.set_exception(failure)
        if self._reader is not None and self._reader is not asyncio.current_task():
            self._reader.cancel()
        self._close()

    def _close(self) -> None:
        if self._closing is None:
            self._closing = asyncio.ensure_future(self.connection.disconnect())
            self._closing.add_done_callback(_ignore_failure)

    async def aclose(self) -> None:
        self.broken = True
        with contextlib.suppress(Exception):
            await self.connection.disconnect()  # and wait until it is closed: the reader ends
        for task in (self._reader, self._closing):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task


def _transport(connection: AbstractConnection) -> asyncio.BaseTransport | None:
    writer = getattr(connection, "_writer", None)  # redis-py keeps no public handle on it
    return writer.transport if writer is not None else None


def _ignore_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a failed disconnect of a failed connection is no news


class PipelinedRedis:
    """Commands on one shared connection, written at once, replies matched in order.

    ``execute`` raises what redis-py raises: ``ConnectionError`` (a ``RedisError``) when the
    connection fails or cannot be opened, ``ResponseError`` for the server's error reply."""

    def __init__(self, connect: Callable[[], AbstractConnection]) -> None:
        self._new_connection = connect
        self._line: _Line | None = None
        self._opening: asyncio.Lock | None = None

    @classmethod
    def from_url(cls, url: str, *, connect_timeout: float = 2.0) -> PipelinedRedis:
        pool = ConnectionPool.from_url(url, socket_connect_timeout=connect_timeout)

        def connection() -> AbstractConnection:
            made: AbstractConnection = pool.make_connection()  # type: ignore[no-untyped-call]
            # A reply may come late; only the callers time out (a read timeout would break
            # the line for every command on it), and writes are never wrapped in a task.
            made.socket_timeout = None
            return made

        return cls(connection)

    async def execute(self, *args: Any) -> Any:
        line = self._line
        if line is None or not line.usable():
            line = await self._open()
        return await line.execute(args)

    async def _open(self) -> _Line:
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:  # concurrent callers open one connection
            line = self._line
            if line is not None and line.usable():
                return line
            connection = self._new_connection()
            try:
                await connection.connect()  # type: ignore[no-untyped-call]
            except BaseException:
                with contextlib.suppress(Exception):
                    await connection.disconnect(nowait=True)
                raise
            self._line = _Line(connection)
            return self._line

    async def aclose(self) -> None:
        line, self._line = self._line, None
        if line is not None:
            await line.aclose()
