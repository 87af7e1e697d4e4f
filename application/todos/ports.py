"""Ports of the todos context."""

from __future__ import annotations

import enum
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Protocol

from application.shared.unit_of_work import UnitOfWork
from domain.shared.ids import UserId
from domain.shared.pagination import Page, PageRequest
from domain.todos.todo import Todo, TodoId


class TodoSort(enum.StrEnum):
    CREATED = "created_at"
    CREATED_DESC = "-created_at"
    UPDATED = "updated_at"
    UPDATED_DESC = "-updated_at"
    DUE = "due_at"
    DUE_DESC = "-due_at"
    TITLE = "title"
    TITLE_DESC = "-title"


@dataclass(frozen=True, slots=True)
class TodoQuery:
    completed: bool | None = None
    sort: TodoSort = TodoSort.CREATED_DESC
    page: PageRequest = field(default_factory=PageRequest)


class TodoRepository(Protocol):
    @abstractmethod
    async def add(self, todo: Todo) -> None: ...

    @abstractmethod
    async def get(self, todo_id: TodoId) -> Todo | None: ...

    @abstractmethod
    async def save(self, todo: Todo) -> None:
        """Persist one accepted edit: compare-and-set, the stored version must be ``todo.version - 1``.

        Raises ``VersionMismatchError`` (with the stored version as ``actual``, ``None`` when
        the todo is gone) if another writer got there first; nothing is stored then. The
        error may come from the unit of work's ``commit()`` instead: run the commit inside
        the attempt (``compare_and_set(..., commit=uow.commit)``).
        """

    @abstractmethod
    async def delete(self, todo: Todo) -> None:
        """Delete the todo if it is still at ``todo.version``; else ``VersionMismatchError``
        (from here or from the commit, as ``save``)."""

    @abstractmethod
    async def list(self, owner_id: UserId, query: TodoQuery) -> Page[Todo]:
        """One page of the owner's todos, ordered by ``query.sort`` then by id; ``total`` counts all matches."""


class TodoUnitOfWork(UnitOfWork, Protocol):
    """The todos context's repository, inside one transaction."""

    @property
    @abstractmethod
    def todos(self) -> TodoRepository: ...
