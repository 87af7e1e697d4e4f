"""What the app's PostgreSQL connections send, as asyncpg saw it (the repositories' prepared
statements go straight to the driver, past SQLAlchemy)."""

from __future__ import annotations

from typing import Any

from asyncpg.connection import LoggedQuery
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.checkout import parked_connections
from adapters.sql.connections import pooled_now

__all__ = ["log_statements"]


def log_statements(engine: AsyncEngine) -> list[str]:
    """A list that every statement ``engine``'s connections run from now on is appended to:
    connections checked out of the pool from now on, and those parked now (which pass no
    checkout again). Clear it in place to start over."""
    statements: list[str] = []

    def log(query: LoggedQuery) -> None:
        statements.append(query.query)

    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        record.driver_connection.add_query_logger(log)  # a set: added once per connection

    event.listen(engine.sync_engine, "checkout", on_checkout)
    for connection in parked_connections(engine):
        pooled_now(connection).driver_connection.add_query_logger(log)
    return statements
