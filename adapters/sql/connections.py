"""Connection-level helpers of the SQL adapter: asyncpg under SQLAlchemy's pooled
connections, without round trips (``pooled_now``, ``autocommit_driver``,
``socket_ending``), and closing one that must not go back to the pool (``discard``)."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.system.sockets import peer_is_ending

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
    """Whether the server is ending an idle asyncpg connection (``peer_is_ending``): an idle
    connection in autocommit mode gets nothing unasked."""
    return peer_is_ending(getattr(driver, "_transport", None))  # asyncpg keeps no public handle on it


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
