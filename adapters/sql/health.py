"""``SqlHealthProbe``: ``SELECT 1`` with a timeout."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from application.shared.readiness import HealthProbe

__all__ = ["SqlHealthProbe"]


class SqlHealthProbe(HealthProbe):
    name = "database"

    def __init__(self, engine: AsyncEngine, timeout: float = 2.0) -> None:
        self._engine = engine
        self._timeout = timeout

    async def check(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout), self._engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return False
        return True
