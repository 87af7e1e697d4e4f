"""``ParkedConnections``: PostgreSQL connections a unit of work gave back, kept checked out
for the next one, so a request skips SQLAlchemy's pool.

A checkout and a checkin through ``AsyncEngine.connect()`` cost about 70 µs of CPU: a
greenlet is spawned for each, and the pool's events and reset run. That was the largest
single cost of an authenticated read (README, Performance). A parked connection is handed
over as it is: a list pop and two checks of the driver's state, no await.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.prometheus.pool import connection_parked, connection_unparked
from adapters.sql.connections import discard, pooled_now

__all__ = ["ParkedConnections"]

_SINCE = "portside_parked_since"
"""Key in the pooled connection's ``info``: when it was first parked. That ``info`` belongs
to the driver connection, so a connection the pool replaced starts afresh."""


class ParkedConnections:
    """The healthy connections units of work gave back, most recent first (the checkout
    queue of a PostgreSQL pool owns one: ``adapters.sql.checkout``).

    What the pool does at checkout is done here: a connection the driver knows to be closed
    is dropped (the pool replaces it at its next checkout). A connection parked again and
    again goes back to the pool once ``max_age`` seconds have passed since it was first
    parked, and the pool recycles it by age (``pool_recycle``). A connection in a
    transaction (the driver's, or one SQLAlchemy began for a statement it ran), invalidated,
    closed or not in autocommit mode (the pool resets an isolation level at checkin) is
    never parked.

    ``portside_db_pool_connections{state="in_use"}`` keeps counting the connections units
    of work hold: a parked one is not in use.
    """

    def __init__(self, max_age: float) -> None:
        self._max_age = max_age
        self._idle: list[AsyncConnection] = []

    def __len__(self) -> int:
        return len(self._idle)

    async def take(self) -> AsyncConnection | None:
        """The most recently parked connection that is still usable; None if there is none."""
        while self._idle:
            connection = self._idle.pop()
            connection_unparked()
            pooled = pooled_now(connection)
            if pooled is not None and not pooled.driver_connection.is_closed():
                return connection
            await discard(connection)
        return None

    def park(self, connection: AsyncConnection) -> bool:
        """Keep ``connection`` for the next unit of work, if it can be; False when it must go
        back to the pool (the caller returns it)."""
        pooled = pooled_now(connection)
        if pooled is None or connection.in_transaction():  # SQLAlchemy began one: it ends at close
            return False
        driver: Any = pooled.driver_connection
        if driver.is_closed() or driver.is_in_transaction():
            return False
        if not connection.dialect.detect_autocommit_setting(pooled.dbapi_connection):
            return False  # an isolation level set for one engine: the pool resets it
        since = pooled.info.setdefault(_SINCE, time.monotonic())
        if time.monotonic() - since > self._max_age:
            del pooled.info[_SINCE]
            return False
        self._idle.append(connection)
        connection_parked()
        return True

    def drop(self) -> None:
        """Close every parked connection now, without a round trip or an await (the engine
        is being disposed of): the socket is cut, and the pool takes back an invalidated
        connection."""
        while self._idle:
            connection = self._idle.pop()
            connection_unparked()
            sync = connection.sync_connection
            with contextlib.suppress(Exception):
                if sync is not None and not sync.invalidated:
                    driver: Any = sync.connection.driver_connection
                    driver.terminate()
            with contextlib.suppress(Exception):
                if sync is not None:
                    sync.invalidate()
                    sync.close()
