"""Connection-level helpers of the SQL adapter: asyncpg under SQLAlchemy's pooled
connections, without round trips (``pooled_now``, ``autocommit_driver``,
``socket_ending``), and closing one that must not go back to the pool (``discard``)."""

from __future__ import annotations

import contextlib
import socket
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["autocommit_driver", "discard", "pooled_now", "return_to_pool", "socket_ending"]

_NOT_AUTOCOMMIT = (
    "SqlSession needs a PostgreSQL engine on asyncpg whose connections idle in autocommit mode "
    "(isolation_level='AUTOCOMMIT'), since it opens and ends the write transaction itself: "
    "make the engine with adapters.sql.engine.create_engine"
)


async def discard(connection: AsyncConnection) -> None:
    """Close ``connection`` without returning it to the pool as healthy. Never raises.

    On PostgreSQL the socket is cut first: SQLAlchemy's invalidation otherwise says goodbye
    to the server and waits up to 2 s for an answer that a vanished server never sends.
    """
    with contextlib.suppress(Exception):
        if not connection.invalidated and connection.dialect.name == "postgresql":
            (await connection.get_raw_connection()).driver_connection.terminate()  # type: ignore[union-attr]
    with contextlib.suppress(Exception):
        await connection.invalidate()
    with contextlib.suppress(Exception):
        await connection.close()


def autocommit_driver(connection: AsyncConnection, pooled: Any) -> Any:
    """The asyncpg connection under ``pooled``, after checking the engine's precondition
    (no round trip: the driver knows whether it is in autocommit mode)."""
    dialect = connection.dialect
    if dialect.driver != "asyncpg" or not dialect.detect_autocommit_setting(pooled.dbapi_connection):
        raise ValueError(_NOT_AUTOCOMMIT)
    return pooled.driver_connection


def pooled_now(connection: AsyncConnection) -> Any:
    """The pooled connection, when it can be had without awaiting (it can, unless the
    connection was invalidated or closed); None otherwise."""
    sync = connection.sync_connection
    if sync is None or sync.closed or sync.invalidated:
        return None
    return sync.connection


def socket_ending(driver: Any) -> bool:
    """Whether the server is ending an idle asyncpg connection, asked of its socket (a peek
    that takes no byte and does not wait): one system call, no round trip. An idle
    connection in autocommit mode gets nothing unasked, so anything to read means the end:
    a server that shuts down sends its FATAL error, then closes (or resets) the socket."""
    transport = getattr(driver, "_transport", None)  # asyncpg keeps no public handle on it
    if transport is None or transport.is_closing():
        return transport is not None
    sock = transport.get_extra_info("socket")
    if sock is None:
        return False
    try:
        probe = socket.socket(sock.family, sock.type, sock.proto, fileno=sock.fileno())
    except (OSError, ValueError):
        return True  # no usable descriptor: a fresh connection is the safe side
    try:
        if probe.gettimeout() is not None:  # a process-wide default timeout would make recv wait
            probe.settimeout(0.0)
        probe.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return False  # open, and nothing to read
    except OSError:
        return True  # reset
    else:
        return True  # an error message or the end of the stream
    finally:
        probe.detach()  # the descriptor stays the transport's


async def return_to_pool(connection: AsyncConnection) -> None:
    """Close ``connection`` back into the pool; a transaction left open on it (a unit of
    work cut short) is rolled back first, and a connection the server closed is discarded."""
    if connection.dialect.name == "postgresql":
        pooled = pooled_now(connection) or await connection.get_raw_connection()
        driver: Any = pooled.driver_connection
        if driver.is_closed():
            await discard(connection)
            return
        if driver.is_in_transaction():
            await driver.execute("ROLLBACK")
    await connection.close()
