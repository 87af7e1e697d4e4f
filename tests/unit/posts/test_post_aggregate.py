"""The ``Post`` aggregate: its rules, versions and events."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain.posts.post import CONTENT_MAX, Post, PostChanged, PostDeleted, PostId, PostPublished, PostTitle, content
from domain.posts.slug import Slug, slugify
from domain.posts.tags import Tags
from domain.shared.errors import InvalidValueError, VersionMismatchError
from domain.shared.ids import UserId
from tests.support.builders import T0


def a_post(*, published: bool = False, title: str = "Hello world") -> Post:
    return Post.create(
        post_id=PostId(uuid4()),
        author_id=UserId(uuid4()),
        slug=slugify(title),
        title=PostTitle.parse(title),
        content="Body",
        tags=Tags.parse(["a"]),
        published=published,
        now=T0,
    )


@pytest.mark.parametrize(("raw", "stored"), [("  abc  ", "abc"), ("x" * 200, "x" * 200), (" é😀ü ", "é😀ü")])
def test_titles_are_trimmed_and_counted_in_code_points(raw: str, stored: str) -> None:
    assert PostTitle.parse(raw).value == stored


@pytest.mark.parametrize("raw", ["ab", "  ab  ", "x" * 201, "", "tab\there"])
def test_bad_titles_are_refused(raw: str) -> None:
    with pytest.raises(InvalidValueError) as raised:
        PostTitle.parse(raw)
    assert raised.value.field == "title"


@pytest.mark.parametrize("raw", ["", "   ", "\n\t", "nul\x00", "x" * (CONTENT_MAX + 1)])
def test_bad_content_is_refused(raw: str) -> None:
    with pytest.raises(InvalidValueError):
        content(raw)


def test_content_is_kept_as_sent() -> None:
    assert content("  two\n  lines  ") == "  two\n  lines  "


def test_a_draft_records_a_change_and_no_publication() -> None:
    post = a_post()
    assert post.version == 1 and post.image_key is None
    assert [type(e) for e in post.events] == [PostChanged]


def test_creating_published_records_the_publication() -> None:
    post = a_post(published=True)
    assert [type(e) for e in post.events] == [PostChanged, PostPublished]


def test_publishing_a_draft_is_announced_once() -> None:
    post = a_post()
    post.events.clear()
    post.edit(expected=1, now=T0, published=True)
    post.edit(expected=2, now=T0, title=PostTitle.parse("Renamed"))
    assert [type(e) for e in post.events] == [PostChanged, PostPublished, PostChanged]
    assert post.version == 3


def test_an_edit_keeps_the_slug_and_bumps_the_version_and_time() -> None:
    post = a_post()
    later = T0 + timedelta(minutes=5)
    post.edit(expected=1, now=later, title=PostTitle.parse("Completely different"))
    assert post.slug.value == "hello-world" and post.version == 2 and post.updated_at == later


def test_a_stale_version_changes_nothing() -> None:
    post = a_post()
    with pytest.raises(VersionMismatchError):
        post.edit(expected=5, now=T0, content="new")
    assert post.content == "Body" and post.version == 1


def test_attaching_an_image_returns_the_replaced_key() -> None:
    post = a_post()
    assert post.attach_image(expected=None, key="a.png", now=T0) is None
    assert post.attach_image(expected=2, key="b.png", now=T0) == "a.png"
    assert post.image_key == "b.png" and post.version == 3


def test_a_new_slug_is_taken_into_the_pending_publication() -> None:
    post = a_post(published=True)
    post.renamed_slug(Slug("hello-world-2"))
    published = [e for e in post.events if isinstance(e, PostPublished)]
    assert post.slug.value == "hello-world-2" and published[0].slug == "hello-world-2"


def test_the_slug_is_fixed_once_stored_and_edited() -> None:
    post = a_post()
    post.edit(expected=1, now=T0, content="new")
    with pytest.raises(InvalidValueError):
        post.renamed_slug(Slug("other"))


def test_delete_records_who_deleted() -> None:
    post = a_post()
    post.delete(expected=None, now=T0, by_admin=True)
    assert isinstance(post.events[-1], PostDeleted) and post.events[-1].by_admin
