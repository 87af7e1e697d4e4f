"""A bounded context's unit of work, as a view over the one transaction of a request."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar, overload

from application.shared.events import EventCollector, collecting

__all__ = ["Block", "ContextUnitOfWork", "Transaction", "repository"]

_Handle = TypeVar("_Handle", covariant=True)
_Repository = TypeVar("_Repository")


class Transaction(Protocol[_Handle]):
    """What a context view needs from the unit of work underneath it."""

    @abstractmethod
    async def __aenter__(self) -> object: ...

    @abstractmethod
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    @abstractmethod
    async def commit(self) -> None: ...

    @abstractmethod
    def repository(self, build: Callable[[_Handle], _Repository]) -> _Repository:
        """The repository ``build`` makes for the current block, built on first use."""


_T = TypeVar("_T")


class ContextUnitOfWork(Generic[_T]):
    """Enters, commits and leaves the shared transaction; subclasses name their context's
    repositories (``todos = repository(SqlTodoRepository)``).

    Every context of a request shares one transaction object, and so one connection: the
    identity context authenticates and the todos context reads on the same checkout. The
    context list lives nowhere: each context declares its own view next to its repositories.
    """

    def __init__(self, transaction: Transaction[_T]) -> None:
        self._transaction = transaction

    async def __aenter__(self) -> Self:
        await self._transaction.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._transaction.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        await self._transaction.commit()


class Block(Generic[_T]):
    """One ``async with`` block of a unit of work: the repositories built on its ``handle``
    (the SQL session, the in-memory transaction), each once, and the events they collect."""

    def __init__(self, handle: _T) -> None:
        self.handle = handle
        self.events = EventCollector()
        self._repositories: dict[Callable[[_T], Any], Any] = {}

    def repository(self, build: Callable[[_T], _Repository]) -> _Repository:
        repository = self._repositories.get(build)
        if repository is None:
            repository = self._repositories[build] = collecting(build(self.handle), self.events)
        return repository


class repository(Generic[_T, _Repository]):
    """A context view's repository: built by ``build`` on the transaction's current block,
    once per block (``todos = repository(SqlTodoRepository)``)."""

    def __init__(self, build: Callable[[_T], _Repository]) -> None:
        self._build = build

    @overload
    def __get__(self, view: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, view: ContextUnitOfWork[_T], owner: type[Any]) -> _Repository: ...
    def __get__(self, view: ContextUnitOfWork[_T] | None, owner: type[Any]) -> Self | _Repository:
        if view is None:
            return self
        return view._transaction.repository(self._build)
