"""Bodies of ``/api/v1/todos`` and their mapping to commands and views."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from domain.shared.pagination import Page
from domain.todos.todo import Todo
from entrypoints.http.pages import page_fields

TitleText = Annotated[
    str,
    Meta(min_length=1, description="1..200 characters after trimming, no control characters", examples=["Buy milk"]),
]
DescriptionText = Annotated[str, Meta(max_length=2000, description="No NUL characters", examples=["2 litres, oat"])]
Version = Annotated[int, Meta(ge=1, description="The version this change expects (or send If-Match)")]
DueAt = Annotated[
    datetime,
    Meta(tz=True, description="RFC 3339 with an offset; given back in UTC", examples=["2030-01-01T10:00:00Z"]),
]


class TodoCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    title: TitleText
    description: DescriptionText = ""
    due_at: DueAt | None = None


class TodoReplace(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Every field; omitted ones take their defaults."""

    title: TitleText
    description: DescriptionText = ""
    completed: bool = False
    due_at: DueAt | None = None
    version: Version | None = None


class TodoPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields sent change; ``due_at: null`` removes the due date."""

    title: TitleText | UnsetType = UNSET
    description: DescriptionText | UnsetType = UNSET
    completed: bool | UnsetType = UNSET
    due_at: DueAt | UnsetType | None = UNSET
    version: Version | None = None


class TodoView(msgspec.Struct, kw_only=True):
    id: UUID
    title: str
    description: str
    completed: bool
    due_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, todo: Todo) -> TodoView:
        return cls(
            id=todo.id,
            title=todo.title.value,
            description=todo.description,
            completed=todo.completed,
            due_at=todo.due_at,
            version=todo.version,
            created_at=todo.created_at,
            updated_at=todo.updated_at,
        )


class TodoPage(msgspec.Struct, kw_only=True):
    items: list[TodoView]
    page: int
    size: int
    total: int
    pages: int

    @classmethod
    def of(cls, page: Page[Todo]) -> TodoPage:
        return cls(**page_fields(page, TodoView.of))
