"""The ``UnitOfWork`` port: one transaction per use-case, events to the outbox on commit."""

from __future__ import annotations

from abc import abstractmethod
from types import TracebackType
from typing import Protocol, Self

from application.identity.ports import LoginAttemptRepository, SessionRepository, UserRepository
from application.todos.ports import TodoRepository


class UnitOfWork(Protocol):
    """Opens one transaction and exposes the repositories that work inside it.

    Use it as ``async with uow:`` once per use-case and call ``commit()`` explicitly;
    leaving the block without a commit rolls everything back. ``commit()`` stores the state
    changes together with the events the touched aggregates recorded, in one transaction.
    """

    users: UserRepository
    sessions: SessionRepository
    login_attempts: LoginAttemptRepository
    todos: TodoRepository

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
    async def commit(self) -> None: ...
