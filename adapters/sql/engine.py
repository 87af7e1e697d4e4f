"""Engines for both dialects, set up the way the repositories expect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = ["create_engine"]


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False, autocommit_reads: bool = True) -> AsyncEngine:
    """An async engine for ``url``; ``SqlUnitOfWork`` expects one made here.

    On PostgreSQL, connections idle in autocommit mode so reads cost no BEGIN/ROLLBACK;
    ``SqlSession`` opens a transaction for writes (``autocommit_reads=False`` for tools such
    as migrations that manage transactions themselves).

    SQLite runs in WAL mode with foreign keys on and a busy timeout, and every transaction
    starts with ``BEGIN IMMEDIATE``: writers queue for the lock instead of failing with
    "database is locked" when a read transaction later wants to write.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        isolation_level="AUTOCOMMIT" if autocommit_reads else "READ COMMITTED",
        # A fixed pool: overflow connections are closed on return, so under load they would
        # be opened and closed for every request (a fork on the server each time).
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=10,
        pool_recycle=1800,
        pool_pre_ping=False,
        connect_args={"server_settings": {"application_name": "portside"}, "command_timeout": 30},
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
