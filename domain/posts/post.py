"""The ``Post`` aggregate and its events."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import ClassVar, Literal, NewType
from uuid import UUID

from domain.posts.slug import Slug
from domain.posts.tags import Tags
from domain.shared.errors import InvalidValueError
from domain.shared.events import Aggregate, DomainEvent
from domain.shared.ids import UserId
from domain.shared.text import refuse_control_characters, refuse_nul
from domain.shared.versioning import ExpectedVersion, check_version

__all__ = [
    "CONTENT_MAX",
    "Post",
    "PostChanged",
    "PostDeleted",
    "PostId",
    "PostPublished",
    "PostTitle",
    "content",
]

PostId = NewType("PostId", UUID)

TITLE_MIN = 3
TITLE_MAX = 200
CONTENT_MAX = 100_000


@dataclass(frozen=True, slots=True)
class PostTitle:
    """3..200 characters (code points) after trimming, stored trimmed. ``parse`` (new
    input) also refuses control characters; stored titles are taken as they are."""

    value: str

    def __post_init__(self) -> None:
        if self.value != self.value.strip():
            raise InvalidValueError("title", "must be trimmed; use PostTitle.parse")
        if not TITLE_MIN <= len(self.value) <= TITLE_MAX:
            raise InvalidValueError("title", f"must be {TITLE_MIN}..{TITLE_MAX} characters after trimming")

    @classmethod
    def parse(cls, raw: str) -> PostTitle:
        trimmed = raw.strip()
        refuse_control_characters("title", trimmed)
        return cls(trimmed)


def content(raw: str) -> str:
    """A post's body: not blank, at most 100,000 characters, no NUL; kept as sent."""
    refuse_nul("content", raw)
    if not raw.strip():
        raise InvalidValueError("content", "must not be blank")
    if len(raw) > CONTENT_MAX:
        raise InvalidValueError("content", f"must be at most {CONTENT_MAX} characters")
    return raw


@dataclass(frozen=True, slots=True, kw_only=True)
class PostPublished(DomainEvent):
    """A post became visible to everyone (created published, or a draft published)."""

    name: ClassVar[str] = "post.published"
    post_id: PostId
    author_id: UserId
    slug: str
    title: str
    version: int
    content: str
    """The post as it was published, so its announcement needs no read (realtime)."""
    tags: tuple[str, ...]
    image_key: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PostChanged(DomainEvent):
    name: ClassVar[str] = "post.changed"
    post_id: PostId
    author_id: UserId
    version: int
    published: bool
    change: Literal["created", "updated", "image_attached"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PostDeleted(DomainEvent):
    name: ClassVar[str] = "post.deleted"
    post_id: PostId
    author_id: UserId
    by_admin: bool


@dataclass(slots=True, kw_only=True, eq=False)
class Post(Aggregate):
    """A post by ``author_id``. Its slug is fixed at creation; ``image_key`` names the
    attached image in file storage (``None`` until one is attached)."""

    aggregate_type: ClassVar[str] = "post"

    id: PostId
    author_id: UserId
    slug: Slug
    title: PostTitle
    content: str
    tags: Tags
    published: bool
    image_key: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    events: list[DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def create(
        cls,
        *,
        post_id: PostId,
        author_id: UserId,
        slug: Slug,
        title: PostTitle,
        content: str,
        tags: Tags,
        published: bool,
        now: datetime,
    ) -> Post:
        post = cls(
            id=post_id,
            author_id=author_id,
            slug=slug,
            title=title,
            content=content,
            tags=tags,
            published=published,
            image_key=None,
            version=1,
            created_at=now,
            updated_at=now,
        )
        post._changed("created", now, was_published=False)
        return post

    def renamed_slug(self, slug: Slug) -> None:
        """Take another slug before the post is first stored (its wanted one was taken)."""
        if self.version != 1:
            raise InvalidValueError("slug", "is fixed once the post exists")
        self.slug = slug
        self.events = [replace(e, slug=slug.value) if isinstance(e, PostPublished) else e for e in self.events]

    def edit(
        self,
        *,
        expected: ExpectedVersion,
        now: datetime,
        title: PostTitle | None = None,
        content: str | None = None,
        tags: Tags | None = None,
        published: bool | None = None,
    ) -> None:
        """Apply the given changes (``None`` keeps a field); every accepted edit is one
        version. The slug stays what it was, whatever the title becomes."""
        check_version(expected, self.version)
        was_published = self.published
        self.title = title or self.title
        self.content = self.content if content is None else content
        self.tags = self.tags if tags is None else tags
        self.published = self.published if published is None else published
        self.version += 1
        self.updated_at = now
        self._changed("updated", now, was_published=was_published)

    def attach_image(self, *, expected: ExpectedVersion, key: str, now: datetime) -> str | None:
        """Point the post at a new image; return the key of the one it replaces."""
        check_version(expected, self.version)
        previous, self.image_key = self.image_key, key
        self.version += 1
        self.updated_at = now
        self._changed("image_attached", now, was_published=self.published)
        return previous

    def delete(self, *, expected: ExpectedVersion, now: datetime, by_admin: bool) -> None:
        check_version(expected, self.version)
        self.events.append(PostDeleted(occurred_at=now, post_id=self.id, author_id=self.author_id, by_admin=by_admin))

    def _changed(
        self, change: Literal["created", "updated", "image_attached"], now: datetime, *, was_published: bool
    ) -> None:
        self.events.append(
            PostChanged(
                occurred_at=now,
                post_id=self.id,
                author_id=self.author_id,
                version=self.version,
                published=self.published,
                change=change,
            )
        )
        if self.published and not was_published:
            self.events.append(
                PostPublished(
                    occurred_at=now,
                    post_id=self.id,
                    author_id=self.author_id,
                    slug=self.slug.value,
                    title=self.title.value,
                    version=self.version,
                    content=self.content,
                    tags=tuple(self.tags.names),
                    image_key=self.image_key,
                    created_at=self.created_at,
                    updated_at=self.updated_at,
                )
            )
