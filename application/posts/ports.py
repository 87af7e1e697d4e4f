"""Ports of the posts context."""

from __future__ import annotations

import builtins
import enum
from abc import abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from application.files.ports import FileRepository
from application.shared.audit import AuditLog
from application.shared.unit_of_work import UnitOfWork
from domain.posts.post import Post, PostId
from domain.posts.slug import Slug
from domain.shared.ids import UserId
from domain.shared.pagination import Page, PageRequest

__all__ = [
    "ExportCursor",
    "PostFilter",
    "PostQuery",
    "PostRepository",
    "PostSort",
    "PostUnitOfWork",
    "SlugTakenError",
    "TagCount",
    "Visibility",
]


class PostSort(enum.StrEnum):
    CREATED = "created_at"
    CREATED_DESC = "-created_at"
    TITLE = "title"
    TITLE_DESC = "-title"
    UPDATED = "updated_at"
    UPDATED_DESC = "-updated_at"


@dataclass(frozen=True, slots=True)
class Visibility:
    """Which posts a caller may see: every published one, plus the drafts of ``drafts_of``
    (an author sees their own), or every post at all (``everything``: an admin)."""

    everything: bool = False
    drafts_of: UserId | None = None


@dataclass(frozen=True, slots=True)
class PostFilter:
    """``words``: every one must occur as a whole word of the title or the content,
    case-insensitively (``None``: no search; an empty tuple matches nothing)."""

    visibility: Visibility = field(default_factory=Visibility)
    tag: str | None = None
    author_id: UserId | None = None
    published: bool | None = None
    words: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class PostQuery:
    filter: PostFilter = field(default_factory=PostFilter)
    sort: PostSort = PostSort.CREATED_DESC
    page: PageRequest = field(default_factory=PageRequest)


@dataclass(frozen=True, slots=True)
class ExportCursor:
    """Where the last export batch ended: export walks ``(created_at, id)`` upwards."""

    created_at: datetime
    post_id: PostId


@dataclass(frozen=True, slots=True)
class TagCount:
    name: str
    count: int


class SlugTakenError(Exception):
    """``PostRepository.add`` found the post's slug taken; nothing was stored."""


class PostRepository(Protocol):
    @abstractmethod
    async def add(self, post: Post) -> None:
        """Store a new post with its tags. Raises ``SlugTakenError`` when another post has
        its slug; the unit of work stays usable, so the caller may try another slug."""

    @abstractmethod
    async def used_slugs(self, slug: Slug) -> builtins.set[str]:
        """The stored slugs among ``slug`` and its numbered forms (``slug-2``, ``slug-3``, ...)."""

    @abstractmethod
    async def get(self, post_id: PostId) -> Post | None: ...

    @abstractmethod
    async def get_by_slug(self, slug: str) -> Post | None: ...

    @abstractmethod
    async def save(self, post: Post) -> None:
        """Persist one accepted change (tags included) with compare-and-set: the stored
        version must be ``post.version - 1``, else ``VersionMismatchError`` (``actual`` the
        stored version, ``None`` when the post is gone) and nothing is stored."""

    @abstractmethod
    async def delete(self, post: Post) -> None:
        """Delete the post if it is still at ``post.version``; else ``VersionMismatchError``."""

    @abstractmethod
    async def list(self, query: PostQuery) -> Page[Post]:
        """One page of the posts ``query.filter`` matches, ordered by ``query.sort`` then by
        id; ``total`` counts every match."""

    @abstractmethod
    async def export_batch(
        self, post_filter: PostFilter, after: ExportCursor | None, limit: int
    ) -> builtins.list[Post]:
        """Up to ``limit`` matching posts after ``after``, in ``(created_at, id)`` order: a
        keyset walk, so each batch costs the same however deep the export is."""

    @abstractmethod
    async def tag_counts(self) -> builtins.list[TagCount]:
        """Each tag of a published post with how many published posts carry it, by count
        descending, then name."""


class PostUnitOfWork(UnitOfWork, Protocol):
    """The posts context's repository, the file records and the audit log, in one transaction."""

    @property
    @abstractmethod
    def posts(self) -> PostRepository: ...

    @property
    @abstractmethod
    def files(self) -> FileRepository: ...

    @property
    @abstractmethod
    def audit_log(self) -> AuditLog: ...
