"""Bodies of ``/api/v1/posts`` and ``/api/v1/tags``, and their mapping to views."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar.params import QueryParameter
from msgspec import UNSET, Meta, UnsetType

from application.files.ports import StoredFile
from application.posts.ports import TagCount
from domain.posts.post import Post
from domain.shared.pagination import Page
from entrypoints.http.files.schemas import file_url
from entrypoints.http.pages import page_fields

__all__ = [
    "ImageView",
    "PostCreate",
    "PostPage",
    "PostPatch",
    "PostReplace",
    "PostView",
    "SearchText",
    "TagCountView",
    "TagFilter",
    "image_url",
]

TitleText = Annotated[
    str,
    Meta(min_length=1, description="3..200 characters after trimming, no control characters", examples=["Hello world"]),
]
ContentText = Annotated[
    str, Meta(min_length=1, description="Not blank; at most 100,000 characters", examples=["The first post."])
]
TagList = Annotated[
    list[Annotated[str, Meta(max_length=64)]],
    Meta(
        max_length=100,
        description="Up to 10 tags, each 1..32 of a-z, 0-9 and '-' once trimmed and lowercased; duplicates removed",
        examples=[["python", "news"]],
    ),
]
Version = Annotated[int, Meta(ge=1, description="The version this change expects (or send If-Match)")]
TagFilter = Annotated[str | None, QueryParameter(max_length=64, description="Posts with this tag")]
SearchText = Annotated[
    str | None,
    QueryParameter(
        max_length=200,
        description="Whole words, all required, in the title or content, case-insensitively "
        "(PostgreSQL full text; on SQLite a LIKE prefilter and a whole-word check). A word is a run "
        "of letters and digits; a blank `q` is no search, one with no word in it matches nothing",
    ),
]


class PostCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    title: TitleText
    content: ContentText
    tags: TagList = msgspec.field(default_factory=list)
    published: bool = False


class PostReplace(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Every writable field is required."""

    title: TitleText
    content: ContentText
    tags: TagList
    published: bool
    version: Version | None = None


class PostPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields sent change."""

    title: TitleText | UnsetType = UNSET
    content: ContentText | UnsetType = UNSET
    tags: TagList | UnsetType = UNSET
    published: bool | UnsetType = UNSET
    version: Version | None = None


def image_url(key: str | None) -> str | None:
    return None if key is None else file_url(key)


class PostView(msgspec.Struct, kw_only=True):
    id: UUID
    slug: str
    title: str
    content: str
    tags: list[str]
    published: bool
    author_id: UUID
    image_url: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, post: Post) -> PostView:
        return cls(
            id=post.id,
            slug=post.slug.value,
            title=post.title.value,
            content=post.content,
            tags=list(post.tags.names),
            published=post.published,
            author_id=post.author_id,
            image_url=image_url(post.image_key),
            version=post.version,
            created_at=post.created_at,
            updated_at=post.updated_at,
        )


class PostPage(msgspec.Struct, kw_only=True):
    items: list[PostView]
    page: int
    size: int
    total: int
    pages: int

    @classmethod
    def of(cls, page: Page[Post]) -> PostPage:
        return cls(**page_fields(page, PostView.of))


class TagCountView(msgspec.Struct, kw_only=True):
    name: str
    count: int

    @classmethod
    def of(cls, tag: TagCount) -> TagCountView:
        return cls(name=tag.name, count=tag.count)


class ImageView(msgspec.Struct, kw_only=True):
    url: str
    content_type: str
    size: int

    @classmethod
    def of(cls, file: StoredFile) -> ImageView:
        return cls(url=file_url(file.key.value), content_type=file.content_type, size=file.size)
