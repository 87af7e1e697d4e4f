"""``ParkedConnections``: PostgreSQL connections a unit of work gave back, kept checked out
for the next one, so a request skips SQLAlchemy's pool.

A checkout and a checkin through ``AsyncEngine.connect()`` cost about 70 µs of CPU: a
greenlet is spawned for each, and the pool's events and reset run. That was the largest
single cost of an authenticated read (README, Performance). A parked connection is handed
over as it is: a list pop and three checks of the driver's state, no await.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.prometheus.pool import connection_parked, connection_unparked
from adapters.sql.connections import discard, pooled_now

__all__ = ["ParkedConnections"]

_SINCE = "portside_parked_since"
"""Key in the pooled connection's ``info``: when it was first parked. That ``info`` belongs
to the driver connection, so a connection the pool replaced starts afresh."""


def _reusable(connection: AsyncConnection) -> Any:
    """The pooled connection under ``connection`` if another unit of work may have it as it
    is: open, not invalidated, in autocommit mode (the pool resets an isolation level set for
    one engine at checkin), in no transaction (the driver's, or one SQLAlchemy began for a
    statement it ran, which only closing ends); else None."""
    pooled = pooled_now(connection)
    if pooled is None or connection.in_transaction():
        return None
    driver: Any = pooled.driver_connection
    if driver.is_closed() or driver.is_in_transaction():
        return None
    if not connection.dialect.detect_autocommit_setting(pooled.dbapi_connection):
        return None
    return pooled


class ParkedConnections:
    """The reusable connections units of work gave back, most recent first (the checkout
    queue of a PostgreSQL pool owns one: ``adapters.sql.checkout``).

    What the pool does at checkout is done here: a connection that is no longer reusable
    (closed by the server meanwhile, say) is dropped, and the pool replaces it at its next
    checkout. A connection parked again and again goes back to the pool once ``max_age``
    seconds have passed since it was first parked, and the pool recycles it by age
    (``pool_recycle``): a connection lives at most about twice that.

    With ``counted``, ``portside_db_pool_connections{state="in_use"}`` keeps counting the
    connections units of work hold: a parked one is not in use (the composition root's
    engine is observed, ``adapters.prometheus.pool.observe_pool``; others are not counted).

    ``drop()`` closes the parked connections and parks none after: the engine is being
    disposed of.
    """

    def __init__(self, max_age: float, *, counted: bool = False) -> None:
        self._max_age = max_age
        self._counted = counted
        self._idle: list[AsyncConnection] = []
        self._closed = False

    def __len__(self) -> int:
        return len(self._idle)

    def __iter__(self) -> Iterator[AsyncConnection]:
        return iter(list(self._idle))

    async def take(self) -> AsyncConnection | None:
        """The most recently parked connection that is still reusable; None if there is none."""
        while self._idle:
            connection = self._idle.pop()
            self._unparked()
            if _reusable(connection) is not None:
                return connection
            await discard(connection)
        return None

    def park(self, connection: AsyncConnection) -> bool:
        """Keep ``connection`` for the next unit of work, if it can be; False when it must go
        back to the pool (the caller returns it)."""
        if self._closed or (pooled := _reusable(connection)) is None:
            return False
        since = pooled.info.setdefault(_SINCE, time.monotonic())
        if time.monotonic() - since > self._max_age:
            del pooled.info[_SINCE]
            return False
        self._idle.append(connection)
        if self._counted:
            connection_parked()
        return True

    def drop(self) -> None:
        """Close every parked connection now, without a round trip or an await, and park
        none from now on: the socket is cut, and the pool takes back an invalidated
        connection."""
        self._closed = True
        while self._idle:
            connection = self._idle.pop()
            self._unparked()
            sync = connection.sync_connection
            with contextlib.suppress(Exception):
                if sync is not None and not sync.invalidated:
                    driver: Any = sync.connection.driver_connection
                    driver.terminate()
            with contextlib.suppress(Exception):
                if sync is not None:
                    sync.invalidate()
                    sync.close()

    def _unparked(self) -> None:
        if self._counted:
            connection_unparked()
