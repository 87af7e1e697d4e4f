"""A slow database behind a test-only seam: the app's own engine (``create_engine``, as the
composition root makes it), with two changes made through SQLAlchemy's ``do_connect`` hook
as each connection opens, so nothing in portside knows about them:

- the driver gives up on a statement after ``statement_timeout`` seconds instead of 30
  (asyncpg's ``command_timeout``, which ``create_engine`` fixes and no setting exposes), or
  the server does (its ``statement_timeout``);
- while ``Slowness.seconds`` is above zero, every statement portside sends first waits that
  long on the server (``SELECT pg_sleep(...)``), on the same connection, under the same
  timeout: the database is slow, not the network, and not this process.

SQLAlchemy's cache of prepared statements is off on these connections, so its statements
are prepared, and delayed, every time, as the ones portside sends the driver directly are.
Connection set-up (the dialect's type introspection) is not slowed: it uses the driver's
internals, not the statements overridden here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs
from dishka import Provider, Scope
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import create_engine
from entrypoints.settings import Settings

__all__ = ["Slowness", "slow_database"]


@dataclass
class Slowness:
    seconds: float = 0.0
    """How long the server sleeps before each statement; 0: not at all."""


def slow_database(slowness: Slowness, statement_timeout: float, *, on_server: bool = False) -> Provider:
    """A provider overriding the app's ``AsyncEngine`` with one whose statements ``slowness``
    delays and ``statement_timeout`` bounds: the driver's timeout, or with ``on_server`` the
    server's (PostgreSQL's ``statement_timeout``, as an operator may set it on the role; the
    driver keeps the app's own 30 s)."""
    connection_class = _slowed(slowness)

    def on_connect(_dialect: Any, _record: Any, _args: Any, parameters: dict[str, Any]) -> None:
        if on_server:
            server_settings = {**parameters.get("server_settings", {})}
            server_settings["statement_timeout"] = str(round(statement_timeout * 1000))
            parameters["server_settings"] = server_settings
        else:
            parameters["command_timeout"] = statement_timeout
        parameters["connection_class"] = connection_class
        parameters["prepared_statement_cache_size"] = 0  # so SQLAlchemy prepares (and waits) every time

    async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
        made = create_engine(settings.database_url, pool_size=settings.db_pool_size)
        event.listen(made.sync_engine, "do_connect", on_connect)
        yield made
        await made.dispose()

    provider = Provider(scope=Scope.APP)
    provider.provide(engine, provides=AsyncEngine, override=True)
    return provider


def _slowed(slowness: Slowness) -> type[asyncpg.Connection]:
    class SlowConnection(asyncpg.Connection):  # type: ignore[misc]
        """Every statement the driver's public methods run waits ``slowness`` first."""

        async def _pause(self) -> None:
            if slowness.seconds > 0:
                await asyncpg.Connection.execute(self, f"SELECT pg_sleep({slowness.seconds:.3f})")

        async def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
            await self._pause()
            return await super().execute(query, *args, **kwargs)

        async def executemany(self, command: str, args: Any, **kwargs: Any) -> Any:
            await self._pause()
            return await super().executemany(command, args, **kwargs)

        async def fetch(self, query: str, *args: Any, **kwargs: Any) -> Any:
            await self._pause()
            return await super().fetch(query, *args, **kwargs)

        async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
            await self._pause()
            return await super().fetchrow(query, *args, **kwargs)

        async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
            await self._pause()
            return await super().fetchval(query, *args, **kwargs)

        async def prepare(self, query: str, **kwargs: Any) -> Any:
            await self._pause()
            return await super().prepare(query, **kwargs)

    return SlowConnection
