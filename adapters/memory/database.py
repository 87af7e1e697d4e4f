"""``InMemoryDatabase``: committed state shared by every in-memory unit of work.

Each context keeps its own tables object (``IdentityTables``, ``TodoTables``, next to its
repositories); the database holds whichever of them were ever written, keyed by type, and
the outbox rows in the same encoded form as the SQL outbox.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from typing import Any, Protocol, Self, TypeVar

from adapters.shared.event_codec import OutboxRow, decode
from application.shared.events import Envelope
from domain.shared.events import Aggregate

__all__ = ["ContextTables", "InMemoryDatabase", "OutboxEntry", "detached"]

_Entity = TypeVar("_Entity", bound=Aggregate)


def detached(entity: _Entity) -> _Entity:
    """A copy with no pending events, so stored state never aliases what callers mutate."""
    return dataclasses.replace(entity, events=[])  # type: ignore[type-var]


class ContextTables(Protocol):
    """One context's tables: built empty, copied at the start of a transaction. Tables with
    rows that belong to an account also define ``drop_user(user_id)``, doing what their SQL
    foreign keys to ``users.id`` cascade (``InMemoryUnitOfWork.drop_user`` calls it)."""

    def __init__(self) -> None: ...

    def copy(self) -> Self: ...


_Tables = TypeVar("_Tables", bound=ContextTables)


@dataclasses.dataclass(slots=True)
class OutboxEntry:
    """An outbox row and its relay bookkeeping (the SQL table's last three columns)."""

    id: int
    row: OutboxRow
    claimed_until: Any = None
    claim_token: Any = None
    published_at: Any = None


class InMemoryDatabase:
    """Committed tables plus a lock: one unit of work at a time, so transactions are serializable."""

    def __init__(self) -> None:
        self.committed: dict[type[Any], Any] = {}
        self.outbox: list[OutboxEntry] = []
        self.lock = asyncio.Lock()
        self._outbox_ids = itertools.count(1)

    def next_outbox_id(self) -> int:
        """Ids keep growing after the cleanup deletes relayed rows, as a SQL sequence does."""
        return next(self._outbox_ids)

    def tables(self, kind: type[_Tables]) -> _Tables:
        """The committed tables of one context (empty ones if it never committed)."""
        tables: _Tables | None = self.committed.get(kind)
        return kind() if tables is None else tables

    def events(self) -> list[Envelope]:
        """Every committed event, decoded, oldest first (for tests and embedders)."""
        return [decode(entry.row) for entry in self.outbox]
