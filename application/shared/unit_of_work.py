"""The ``UnitOfWork`` port: one transaction per use-case, events to the outbox on commit.

Each bounded context extends it with its own protocol naming the repositories it needs
(``IdentityUnitOfWork``, ``TodoUnitOfWork``), so adding a context edits no central list.
"""

from __future__ import annotations

from abc import abstractmethod
from types import TracebackType
from typing import Protocol, Self


class UnitOfWork(Protocol):
    """Opens one transaction; the context's protocol exposes the repositories inside it.

    Use it as ``async with uow:`` once per use-case and call ``commit()`` explicitly;
    leaving the block without a commit rolls everything back. ``commit()`` stores the state
    changes together with the events of the aggregates the repositories stored, in one
    transaction.
    """

    @abstractmethod
    async def __aenter__(self) -> Self: ...

    @abstractmethod
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    @abstractmethod
    async def commit(self) -> None:
        """Store the block's writes and their events, or nothing.

        A repository may judge a compare-and-set only here (SQL sends it with its outbox row
        as one statement): then this raises its ``VersionMismatchError``, nothing was stored,
        and the block may run its attempt again (``compare_and_set``'s ``commit``)."""
