"""Alembic environment: async engines, batch mode (so every migration runs on SQLite too).

``portside migrate`` passes an open connection in ``config.attributes["connection"]``; the
plain ``alembic`` command builds an engine from ``PORTSIDE_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from adapters.sql.engine import create_engine
from adapters.sql.tables import metadata

target_metadata = metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    engine = create_engine(url, autocommit_reads=False)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


def _offline(url: str) -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = os.environ.get("PORTSIDE_DATABASE_URL", "sqlite+aiosqlite:///./var/portside.db")
    if context.is_offline_mode():
        _offline(url)
    else:
        asyncio.run(_run_with_own_engine(url))
