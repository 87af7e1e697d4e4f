"""``SqlHealthProbe``: ``SELECT 1`` with a timeout."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.checkout import lent_connection
from adapters.sql.errors import connection_lost
from application.shared.readiness import HealthProbe

__all__ = ["SqlHealthProbe"]


class SqlHealthProbe(HealthProbe):
    """Ready when ``SELECT 1`` answers within ``timeout`` seconds. A pooled connection that
    the server closed (a restart the pool has not noticed yet) is dropped and the question
    asked once more on a new one, so the probe reports the server, not a stale socket."""

    name = "database"

    def __init__(self, engine: AsyncEngine, timeout: float = 2.0) -> None:
        self._engine = engine
        self._timeout = timeout

    async def check(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                try:
                    await self._select_one()
                except Exception as error:
                    if not connection_lost(error):
                        raise
                    await self._select_one()
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return False
        return True

    async def _select_one(self) -> None:
        async with lent_connection(self._engine) as connection:
            await connection.execute(text("SELECT 1"))
