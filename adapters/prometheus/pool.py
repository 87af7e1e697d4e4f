"""The database pool's figures: connections in use (pool events) and callers waiting for one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.prometheus.metrics import DB_POOL

__all__ = ["connection_parked", "connection_unparked", "observe_pool", "observed", "waiting_for_connection"]

_IN_USE = DB_POOL.labels(state="in_use")
_WAITING = DB_POOL.labels(state="waiting")


def observe_pool(engine: AsyncEngine) -> None:
    """Count ``engine``'s checked-out connections. Listens after the engine's own checkout
    hooks, so a connection replaced there (it was closed) is counted once."""
    event.listen(engine.sync_engine, "checkout", _checked_out)
    event.listen(engine.sync_engine, "checkin", _checked_in)


def observed(engine: AsyncEngine) -> bool:
    """Whether ``observe_pool`` counts ``engine``'s connections."""
    return event.contains(engine.sync_engine, "checkout", _checked_out)


def _checked_out(_dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    _IN_USE.inc()


def _checked_in(_dbapi_connection: Any, _record: Any) -> None:
    _IN_USE.dec()


def connection_parked() -> None:
    """A connection stays checked out of the pool but no unit of work holds it
    (``adapters.sql.parking``): it is not in use."""
    _IN_USE.dec()


def connection_unparked() -> None:
    """A parked connection is taken again (or leaves the parking): in use until checked in."""
    _IN_USE.inc()


@asynccontextmanager
async def waiting_for_connection() -> AsyncIterator[None]:
    """Around a pool checkout: the caller counts as waiting until it has a connection."""
    _WAITING.inc()
    try:
        yield
    finally:
        _WAITING.dec()
