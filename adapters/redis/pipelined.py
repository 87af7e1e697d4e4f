"""``PipelinedRedis``: one Redis connection that every coroutine of the process shares, for the
command every request sends (the API rate limit's hit).

redis-py's client takes a connection out of its pool for each command and puts it back: a
checkout under a condition, with a health check that waits out a zero timeout, then the
release: about 95 µs of CPU per command in a tight loop, and 230-270 µs of an in-process
request's CPU (README, Performance, round six). Here each command is written as soon as it is asked for and its reply is
matched in order by one reader: about 50 µs for a command alone, about 10 when requests
overlap, since their commands then share the system calls. redis-py still connects
(authentication, database, TLS, from the URL), packs the commands and parses the replies.

A connection that fails (a reset, the server gone) fails every command waiting on it with
``ConnectionError``, and the next command opens a new one. So does a connection whose oldest
reply is overdue (``STALE_AFTER``): a server that stopped answering without closing it (a
failover behind an address, a dropped NAT entry). Before a command goes out on a connection
that owes no reply, the socket is asked whether the server is closing it (a restart), so
that command goes out on a new connection instead of being lost. A caller that stops
waiting (a timeout) leaves the connection as it is: its reply is read and dropped.

The order of the replies rests on redis-py writing a command before its first ``await``
when the connection is open and has no ``socket_timeout`` (which ``from_url`` clears).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections import deque
from collections.abc import Callable
from typing import Any

from redis.asyncio import ConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from adapters.system.sockets import peer_is_ending

__all__ = ["STALE_AFTER", "PipelinedRedis"]

STALE_AFTER = 1.0
"""Seconds a connection may owe a reply before the next command goes out on a new one."""


class _Line:
    """One connection and the replies it owes, oldest first, each with when it was asked for."""

    def __init__(self, connection: AbstractConnection, stale_after: float) -> None:
        self.connection = connection
        # Kept: redis-py forgets its writer when it disconnects, and a transport it closed
        # with writes still buffered waits for them, and so do the callers draining it.
        self._transport = _transport(connection)
        self.owed: deque[tuple[asyncio.Future[Any], float]] = deque()
        self.broken = False
        self._stale_after = stale_after
        self._reader: asyncio.Task[None] | None = None
        self._closing: asyncio.Future[None] | None = None

    def usable(self) -> bool:
        """Whether the next command may go out here. Not when the oldest reply owed is overdue
        (a server that stopped answering without closing: its callers have given up long
        ago), nor when an idle connection is being closed by the server."""
        if self.broken or not self.connection.is_connected:
            return False
        if self._transport is not None and self._transport.is_closing():
            # The loop has seen the connection end. A reader still running delivers the
            # replies that arrived before it and fails the rest; nothing more goes out here.
            if self._reader is not None:
                self.broken = True
            else:
                self.fail(ConnectionError("the connection is closed"))
            return False
        if self.owed:
            if asyncio.get_running_loop().time() - self.owed[0][1] > self._stale_after:
                self.fail(TimeoutError(f"no reply from Redis in {self._stale_after} s"))
                return False
        elif peer_is_ending(self._transport):
            self.fail(ConnectionError("the server is closing the connection"))
            return False
        return True

    async def execute(self, args: tuple[Any, ...]) -> Any:
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Any] = loop.create_future()
        packed = self.connection.pack_command(*args)
        # No await between queueing the reply and writing the command: the order holds.
        self.owed.append((reply, loop.time()))
        try:
            await self.connection.send_packed_command(packed, check_health=False)
        except BaseException as error:  # maybe half written: nothing after it can be matched
            if reply.done() and not reply.cancelled():
                reply.exception()  # the line failed first; this caller learns it here
            reply.cancel()
            self.fail(error)
            if isinstance(error, Exception) and not isinstance(error, RedisConnectionError):
                # As redis-py's failures: uvloop's RuntimeError for a handle it has closed too.
                raise RedisConnectionError(f"the Redis connection failed: {type(error).__name__}") from error
            raise
        if self._reader is None:
            # A context of its own: not the first caller's span and log context.
            self._reader = loop.create_task(self._read(), context=contextvars.Context())
        return await reply

    async def _read(self) -> None:
        try:
            while self.owed:
                try:
                    value: Any = await self.connection.read_response()
                except ResponseError as error:  # the command's own error: the line is fine
                    value = error
                reply, _ = self.owed.popleft()
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
        """Fail every reply owed and cut the connection (callers waiting to write are woken);
        the next command opens another."""
        self.broken = True
        while self.owed:
            reply, _ = self.owed.popleft()
            if not reply.done():
                failure = RedisConnectionError(f"the Redis connection failed: {type(error).__name__}")
                failure.__cause__ = error
                reply.set_exception(failure)
        if self._reader is not None and self._reader is not asyncio.current_task():
            self._reader.cancel()
        if self._transport is not None:
            self._transport.abort()  # now, whatever is still buffered: nothing more goes out on it
        if self._closing is None:  # redis-py's own state of the connection
            self._closing = asyncio.ensure_future(self.connection.disconnect(nowait=True))
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


def _transport(connection: AbstractConnection) -> asyncio.WriteTransport | None:
    writer = getattr(connection, "_writer", None)  # redis-py keeps no public handle on it
    return writer.transport if writer is not None else None


def _ignore_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a failed disconnect of a failed connection is no news


class PipelinedRedis:
    """Commands on one shared connection, written at once, replies matched in order.

    ``execute`` raises what redis-py raises: ``ConnectionError`` (a ``RedisError``) when the
    connection fails or cannot be opened, ``ResponseError`` for the server's error reply."""

    def __init__(self, connect: Callable[[], AbstractConnection], *, stale_after: float = STALE_AFTER) -> None:
        self._new_connection = connect
        self._stale_after = stale_after
        self._line: _Line | None = None
        self._opening: asyncio.Lock | None = None
        self._closed = False

    @classmethod
    def from_url(cls, url: str, *, connect_timeout: float = 2.0, stale_after: float = STALE_AFTER) -> PipelinedRedis:
        pool = ConnectionPool.from_url(url, socket_connect_timeout=connect_timeout)

        def connection() -> AbstractConnection:
            made: AbstractConnection = pool.make_connection()  # type: ignore[no-untyped-call]
            # A reply may come late; only the callers time out (a read timeout would break
            # the line for every command on it), and writes are never wrapped in a task.
            made.socket_timeout = None
            return made

        return cls(connection, stale_after=stale_after)

    async def execute(self, *args: Any) -> Any:
        if self._closed:
            raise RedisConnectionError("the pipelined Redis connection is closed")
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
            if self._closed:  # closed while connecting
                await connection.disconnect()
                raise RedisConnectionError("the pipelined Redis connection is closed")
            self._line = _Line(connection, self._stale_after)
            return self._line

    async def aclose(self) -> None:
        """Close the connection; ``execute`` raises ``ConnectionError`` from now on."""
        self._closed = True
        line, self._line = self._line, None
        if line is not None:
            await line.aclose()
