"""The SQL outbox: events written in the caller's transaction (``write_events``)."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.shared.event_codec import COLUMNS, decode, encode
from adapters.sql.checkout import lent_connection
from adapters.sql.session import SqlSession
from adapters.sql.statements import Query
from adapters.sql.tables import outbox
from application.shared.events import Envelope

__all__ = ["all_events", "write_events"]

_INSERT = Query(insert(outbox).values({name: bindparam(name) for name in COLUMNS}))


async def write_events(session: SqlSession, envelopes: list[Envelope]) -> None:
    for envelope in envelopes:  # usually one per commit; sent with it (``write_later``)
        await session.write_later(_INSERT, encode(envelope))


async def all_events(engine: AsyncEngine) -> list[Envelope]:
    """Every event in the outbox, published or not, oldest first (for checks and tools)."""
    async with lent_connection(engine) as connection:
        rows = (await SqlSession(connection).read(select(outbox).order_by(outbox.c.id))).rows
    return [decode(row) for row in rows]
