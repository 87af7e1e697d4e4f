"""Engines for both dialects, set up the way the repositories expect."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.sql.search import register_sqlite_functions

__all__ = ["POOL_RECYCLE_SECONDS", "create_engine"]

POOL_RECYCLE_SECONDS = 1800
"""A PostgreSQL connection older than this is replaced at its next checkout (the pool's
``pool_recycle``; ``ParkedConnections`` gives one back to the pool after as long)."""


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    autocommit_reads: bool = True,
    connect_timeout: float = 5.0,
) -> AsyncEngine:
    """An async engine for ``url``; ``SqlUnitOfWork`` expects one made here.

    Statement parameters never appear in logs or error messages (they include password
    hashes and token hashes).

    On PostgreSQL, connections idle in autocommit mode so reads cost no BEGIN/ROLLBACK;
    ``SqlSession`` opens a transaction for writes and refuses (``ValueError``) a connection
    that is not in autocommit mode. ``autocommit_reads=False`` is for tools such as
    migrations that manage transactions themselves, never for ``SqlUnitOfWork``.
    Connecting gives up after ``connect_timeout`` seconds, so an unreachable server fails
    requests fast. A pooled connection whose socket the server closed (a restart) is
    replaced when checked out, without a round trip.

    SQLite runs in WAL mode with foreign keys on and a busy timeout, and every transaction
    starts with ``BEGIN IMMEDIATE``: writers queue for the lock instead of failing with
    "database is locked" when a read transaction later wants to write. A database file
    that does not exist yet is created readable by its owner only.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            _create_private_file(Path(parsed.database))
        engine = create_async_engine(url, echo=echo, hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,
        isolation_level="AUTOCOMMIT" if autocommit_reads else "READ COMMITTED",
        # A fixed pool: overflow connections are closed on return, so under load they would
        # be opened and closed for every request (a fork on the server each time).
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=10,
        pool_recycle=POOL_RECYCLE_SECONDS,
        # A ping would cost a round trip per checkout; ``_replace_closed`` costs none, and
        # ``SqlSession`` retries a read once when a connection turns out dead anyway.
        pool_pre_ping=False,
        connect_args={
            "server_settings": {"application_name": "portside"},
            "command_timeout": 30,
            "timeout": connect_timeout,
        },
    )
    event.listen(engine.sync_engine, "checkout", _replace_closed)
    return engine


def _replace_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Make the pool reconnect (it retries on ``DisconnectionError``) instead of handing
    out a connection that asyncpg already knows is closed."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def _create_private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # made already, by an earlier run or a concurrent process
    os.close(descriptor)


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
        register_sqlite_functions(dbapi_connection)  # word search (adapters/sql/search.py)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
