"""The ``Todo`` aggregate."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Literal, NewType
from uuid import UUID

from domain.shared.errors import InvalidValueError
from domain.shared.events import Aggregate, DomainEvent
from domain.shared.ids import UserId
from domain.shared.instants import utc_instant
from domain.shared.text import refuse_control_characters, refuse_nul
from domain.shared.versioning import ExpectedVersion, check_version

TodoId = NewType("TodoId", UUID)

TITLE_MAX = 200
DESCRIPTION_MAX = 2000


@dataclass(frozen=True, slots=True)
class Title:
    """1..200 characters after trimming. ``parse`` (new input) also refuses control characters;
    stored titles are taken as they are."""

    value: str

    def __post_init__(self) -> None:
        if self.value != self.value.strip() or not self.value:
            raise InvalidValueError("title", "must not be blank; use Title.parse to trim")
        if len(self.value) > TITLE_MAX:
            raise InvalidValueError("title", f"must be at most {TITLE_MAX} characters")

    @classmethod
    def parse(cls, raw: str) -> Title:
        trimmed = raw.strip()
        refuse_control_characters("title", trimmed)
        if not trimmed:
            raise InvalidValueError("title", "must not be blank")
        return cls(trimmed)


def due_at_in_utc(value: datetime | None) -> datetime | None:
    """A due date as its instant in UTC, whatever offset it came with; a naive one is refused."""
    return None if value is None else utc_instant("due_at", value)


def description(raw: str) -> str:
    """Up to 2000 characters of free text: line breaks and tabs are fine, NUL is not."""
    refuse_nul("description", raw)
    if len(raw) > DESCRIPTION_MAX:
        raise InvalidValueError("description", f"must be at most {DESCRIPTION_MAX} characters")
    return raw


@dataclass(frozen=True, slots=True, kw_only=True)
class TodoChanged(DomainEvent):
    name: ClassVar[str] = "todo.changed"
    todo_id: TodoId
    owner_id: UserId
    version: int
    change: Literal["created", "updated", "deleted"]
    title: str
    """The todo as the change left it, so its announcement needs no read (realtime)."""
    description: str
    completed: bool
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True, kw_only=True, eq=False)
class Todo(Aggregate):
    aggregate_type: ClassVar[str] = "todo"
    """A user's todo. ``due_at`` is kept in UTC: ``create`` and ``edit`` convert any offset."""

    id: TodoId
    owner_id: UserId
    title: Title
    description: str
    completed: bool
    due_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    events: list[DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def create(
        cls,
        *,
        todo_id: TodoId,
        owner_id: UserId,
        title: Title,
        description: str,
        due_at: datetime | None,
        now: datetime,
    ) -> Todo:
        todo = cls(
            id=todo_id,
            owner_id=owner_id,
            title=title,
            description=description,
            completed=False,
            due_at=due_at_in_utc(due_at),
            version=1,
            created_at=now,
            updated_at=now,
        )
        todo._record("created", now)
        return todo

    def edit(
        self,
        *,
        expected: ExpectedVersion,
        now: datetime,
        title: Title | None = None,
        description: str | None = None,
        completed: bool | None = None,
        due_at: datetime | None = None,
        clear_due_at: bool = False,
    ) -> None:
        """Apply the given changes (``None`` keeps a field). Every accepted edit is one version."""
        due_at = due_at_in_utc(due_at)
        check_version(expected, self.version)
        self.title = title or self.title
        self.description = self.description if description is None else description
        self.completed = self.completed if completed is None else completed
        self.due_at = None if clear_due_at else (due_at or self.due_at)
        self._bump(now)

    def toggle(self, *, expected: ExpectedVersion, now: datetime) -> None:
        check_version(expected, self.version)
        self.completed = not self.completed
        self._bump(now)

    def delete(self, *, expected: ExpectedVersion, now: datetime) -> None:
        check_version(expected, self.version)
        self._record("deleted", now)

    def _bump(self, now: datetime) -> None:
        self.version += 1
        self.updated_at = now
        self._record("updated", now)

    def _record(self, change: Literal["created", "updated", "deleted"], now: datetime) -> None:
        self.events.append(
            TodoChanged(
                occurred_at=now,
                todo_id=self.id,
                owner_id=self.owner_id,
                version=self.version,
                change=change,
                title=self.title.value,
                description=self.description,
                completed=self.completed,
                due_at=self.due_at,
                created_at=self.created_at,
                updated_at=self.updated_at,
            )
        )
