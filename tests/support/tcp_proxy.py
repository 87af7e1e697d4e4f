"""A TCP proxy on loopback that a test can cut and restore, to fake a database outage.

It runs on the test's own event loop. ``cut()`` resets every proxied connection and closes
each new one as soon as it is accepted (as a server that is down, or restarting, would);
``blackhole()`` instead accepts new connections and never answers (a dropped route);
``restore()`` proxies again. The upstream server itself is never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import Enum

__all__ = ["TcpProxy", "tcp_proxy"]

_CHUNK = 64 * 1024


class _Mode(Enum):
    OPEN = "open"
    CUT = "cut"
    BLACKHOLE = "blackhole"


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._mode = _Mode.OPEN
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.BaseTransport] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None, "the proxy is not started"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def accepted(self) -> int:
        """Connections open through the proxy right now (both ends counted once)."""
        return len(self._transports) // 2

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def cut(self) -> None:
        """Reset every open connection and refuse new ones until ``restore()``."""
        self._mode = _Mode.CUT
        self._drop_all()

    def blackhole(self) -> None:
        """Reset every open connection; accept new ones but never pass a byte."""
        self._mode = _Mode.BLACKHOLE
        self._drop_all()

    def restore(self) -> None:
        self._mode = _Mode.OPEN

    def _drop_all(self) -> None:
        for transport in list(self._transports):
            _abort(transport)
        self._transports.clear()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(client_reader, client_writer)
        finally:
            self._tasks.discard(task)

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self._mode is _Mode.CUT:
            _abort(client_writer.transport)
            return
        if self._mode is _Mode.BLACKHOLE:
            self._transports.add(client_writer.transport)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            _abort(client_writer.transport)
            return
        pair = (client_writer.transport, upstream_writer.transport)
        self._transports.update(pair)
        try:
            await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))
        finally:
            for transport in pair:
                self._transports.discard(transport)
                _abort(transport)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    # One direction ended (or broke): end both, as a dead server would.
    _abort(writer.transport)


def _abort(transport: asyncio.BaseTransport) -> None:
    if isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
        transport.abort()
    elif not transport.is_closing():
        transport.close()


@asynccontextmanager
async def tcp_proxy(upstream_host: str, upstream_port: int) -> AsyncIterator[TcpProxy]:
    """A started proxy to ``upstream_host:upstream_port``, closed on exit."""
    proxy = TcpProxy(upstream_host, upstream_port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
