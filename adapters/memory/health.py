"""The in-memory database's readiness probe."""

from __future__ import annotations

from application.shared.readiness import HealthProbe

__all__ = ["InMemoryHealthProbe"]


class InMemoryHealthProbe(HealthProbe):
    """Memory answers as long as the process does."""

    name = "database"

    async def check(self) -> bool:
        return True
