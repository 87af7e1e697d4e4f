"""The post repository's contract on every implementation: slugs, CAS, tags, listing, search, export."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.tables import files, post_tags, posts, users
from application.files.ports import FileId, StoredFile
from application.posts.ports import (
    ExportCursor,
    PostFilter,
    PostQuery,
    PostSort,
    SlugTakenError,
    TagCount,
    Visibility,
)
from domain.files.images import FileKey
from domain.identity.user import User
from domain.posts.post import Post, PostId, PostTitle
from domain.posts.slug import Slug
from domain.posts.tags import Tags
from domain.shared.errors import VersionMismatchError
from domain.shared.pagination import PageRequest
from tests.integration.conftest import UowFactory
from tests.integration.test_identity_repositories import a_user, stored
from tests.support.builders import T0
from tests.support.units import sql_unit

TITLES = ["beta", "Alpha", "alpha", "Émile", "zeta", "Zed"]


def a_post(
    author: User,
    title: str = "Hello",
    *,
    slug: str | None = None,
    content: str = "Hello, world!",
    tags: Iterable[str] = (),
    published: bool = True,
    minutes: int = 0,
) -> Post:
    return Post.create(
        post_id=PostId(uuid4()),
        author_id=author.id,
        slug=Slug(slug or f"p-{uuid4().hex[:12]}"),
        title=PostTitle(title),
        content=content,
        tags=Tags.parse(tags),
        published=published,
        now=T0 + timedelta(minutes=minutes),
    )


def fields(post: Post | None) -> tuple[Any, ...] | None:
    if post is None:
        return None
    return tuple(getattr(post, name) for name in Post.__dataclass_fields__ if name != "events")


async def added(new_uow: UowFactory, *made: Post) -> list[Post]:
    async with new_uow() as uow:
        for post in made:
            await uow.posts.add(post)
        await uow.commit()
    return list(made)


async def authors(new_uow: UowFactory) -> tuple[User, User]:
    ada, bob = a_user(), a_user("bob@example.com")
    await stored(new_uow, ada)
    await stored(new_uow, bob)
    return ada, bob


async def titles(new_uow: UowFactory, **query: Any) -> list[str]:
    async with new_uow() as uow:
        page = await uow.posts.list(PostQuery(**query))
    return [p.title.value for p in page.items]


async def test_a_post_reads_back_as_stored_by_id_and_by_slug(new_uow: UowFactory) -> None:
    ada, _ = await authors(new_uow)
    post = a_post(ada, "Crème brûlée", slug="creme-brulee", tags=["b", "a"], published=False)
    post.image_key = f"{'0' * 32}.png"
    await added(new_uow, post)
    async with new_uow() as uow:
        by_id = await uow.posts.get(post.id)
        by_slug = await uow.posts.get_by_slug("creme-brulee")
        missing = (await uow.posts.get(PostId(uuid4())), await uow.posts.get_by_slug("nope"))
    assert fields(by_id) == fields(by_slug) == fields(post)
    assert by_id is not None and by_id.tags == Tags(("a", "b"))
    assert missing == (None, None)


async def test_a_taken_slug_is_refused_and_the_unit_of_work_goes_on(new_uow: UowFactory) -> None:
    ada, _ = await authors(new_uow)
    await added(new_uow, a_post(ada, slug="hello"))
    late, renamed = a_post(ada, slug="hello", tags=["x"]), a_post(ada, slug="hello-2", tags=["x"])
    async with new_uow() as uow:
        with pytest.raises(SlugTakenError):
            await uow.posts.add(late)
        await uow.posts.add(renamed)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.posts.get(late.id) is None
        assert fields(await uow.posts.get(renamed.id)) == fields(renamed)
        assert await uow.posts.tag_counts() == [TagCount("x", 1)]


async def test_used_slugs_are_the_slug_and_its_numbered_forms(new_uow: UowFactory) -> None:
    ada, _ = await authors(new_uow)
    long = Slug("a" * 79 + "b")
    family = ["hello", "hello-2", "hello-10", long.value, long.numbered(2).value, long.numbered(123).value]
    strangers = ["hello-world", "hell", "hello-1", "hello-02", "hellp", "a" * 77 + "-2x"]
    await added(new_uow, *(a_post(ada, slug=s) for s in family + strangers))
    async with new_uow() as uow:
        assert await uow.posts.used_slugs(Slug("hello")) == {"hello", "hello-2", "hello-10"}
        assert await uow.posts.used_slugs(long) == set(family[3:])
        assert await uow.posts.used_slugs(Slug("fresh")) == set()


async def test_save_and_delete_compare_and_set(new_uow: UowFactory) -> None:
    ada, _ = await authors(new_uow)
    (post,) = await added(new_uow, a_post(ada, tags=["old", "kept"]))
    async with new_uow() as uow:
        mine, theirs, stale = [await uow.posts.get(post.id) for _ in range(3)]
        assert mine is not None and theirs is not None and stale is not None
        mine.edit(expected=1, now=T0 + timedelta(hours=1), tags=Tags(("kept", "new")), content="changed")
        theirs.edit(expected=1, now=T0, title=PostTitle("theirs"))
        await uow.posts.save(mine)
        with pytest.raises(VersionMismatchError) as error:
            await uow.posts.save(theirs)
        assert (error.value.expected, error.value.actual) == (1, 2)
        with pytest.raises(VersionMismatchError):
            await uow.posts.delete(stale)
        await uow.commit()
    async with new_uow() as uow:
        assert fields(await uow.posts.get(post.id)) == fields(mine)
        assert await uow.posts.tag_counts() == [TagCount("kept", 1), TagCount("new", 1)]
        old = await uow.posts.list(PostQuery(PostFilter(tag="old")))
        new = await uow.posts.list(PostQuery(PostFilter(tag="new")))
        assert (old.total, [p.id for p in new.items]) == (0, [post.id])
        await uow.posts.delete(mine)
        with pytest.raises(VersionMismatchError) as gone:
            await uow.posts.save(mine)
        assert gone.value.actual is None
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.posts.get(post.id) is None


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (PostSort.CREATED, TITLES),
        (PostSort.CREATED_DESC, TITLES[::-1]),
        (PostSort.UPDATED, TITLES[::-1]),
        (PostSort.UPDATED_DESC, TITLES),
        (PostSort.TITLE, sorted(TITLES)),
        (PostSort.TITLE_DESC, sorted(TITLES, reverse=True)),
    ],
)
async def test_every_sort_orders_alike(new_uow: UowFactory, sort: PostSort, expected: list[str]) -> None:
    ada, _ = await authors(new_uow)
    made = [a_post(ada, title, minutes=n) for n, title in enumerate(TITLES)]
    for n, post in enumerate(made):
        post.updated_at = T0 + timedelta(hours=1, minutes=-n)
    await added(new_uow, *made)
    assert await titles(new_uow, sort=sort) == expected


@pytest.mark.parametrize("sort", list(PostSort))
async def test_ties_are_broken_by_id_in_the_sort_direction(new_uow: UowFactory, sort: PostSort) -> None:
    ada, _ = await authors(new_uow)
    made = await added(new_uow, *(a_post(ada, "Same") for _ in range(4)))
    async with new_uow() as uow:
        page = await uow.posts.list(PostQuery(sort=sort))
    by_id = sorted(p.id for p in made)
    assert [p.id for p in page.items] == (by_id[::-1] if sort.value.startswith("-") else by_id)


async def test_pages_count_every_match(new_uow: UowFactory) -> None:
    ada, _ = await authors(new_uow)
    await added(new_uow, *(a_post(ada, f"Post {n}", minutes=n) for n in range(5)))
    async with new_uow() as uow:
        first = await uow.posts.list(PostQuery(sort=PostSort.CREATED, page=PageRequest(1, 2)))
        last = await uow.posts.list(PostQuery(sort=PostSort.CREATED, page=PageRequest(3, 2)))
        past = await uow.posts.list(PostQuery(page=PageRequest(9, 2)))
    assert ([p.title.value for p in first.items], first.total) == (["Post 0", "Post 1"], 5)
    assert ([p.title.value for p in last.items], last.total, past.total, past.items) == (["Post 4"], 5, 5, [])


async def test_visibility_and_filters(new_uow: UowFactory) -> None:
    ada, bob = await authors(new_uow)
    await added(
        new_uow,
        a_post(ada, "Ada public", tags=["x", "y"], minutes=1),
        a_post(ada, "Ada draft", tags=["x"], published=False, minutes=2),
        a_post(bob, "Bob public", tags=["y"], minutes=3),
        a_post(bob, "Bob draft", tags=["x"], published=False, minutes=4),
    )
    sort = PostSort.CREATED

    async def seen(**filters: Any) -> list[str]:
        return await titles(new_uow, filter=PostFilter(**filters), sort=sort)

    assert await seen() == ["Ada public", "Bob public"]
    assert await seen(visibility=Visibility(drafts_of=ada.id)) == ["Ada public", "Ada draft", "Bob public"]
    assert await seen(visibility=Visibility(everything=True)) == ["Ada public", "Ada draft", "Bob public", "Bob draft"]
    assert await seen(tag="x") == ["Ada public"]
    assert await seen(tag="x", visibility=Visibility(everything=True)) == ["Ada public", "Ada draft", "Bob draft"]
    assert await seen(tag="nope") == []
    assert await seen(author_id=bob.id, visibility=Visibility(drafts_of=ada.id)) == ["Bob public"]
    assert await seen(published=False, visibility=Visibility(drafts_of=bob.id)) == ["Bob draft"]
    assert await seen(published=False) == []


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (None, ["Greeting", "Ünïcode notes", "Percent"]),
        (("hello",), ["Greeting"]),
        (("HELLO", "World"), ["Greeting"]),
        (("greeting",), ["Greeting"]),
        (("hell",), []),
        (("hello", "text"), []),
        (("ünïcode",), ["Ünïcode notes"]),
        (("ÜNÏCODE", "about"), ["Ünïcode notes"]),
        (("sure",), ["Percent"]),
        (("thing", "100"), ["Percent"]),
        (("100%",), []),
        (("sure_thing",), []),
        (("%",), []),
        (("h%",), []),
        (("_",), []),
        (("s_re",), []),
        ((), []),
    ],
)
async def test_search_finds_whole_words_only(
    new_uow: UowFactory, words: tuple[str, ...] | None, expected: list[str]
) -> None:
    ada, _ = await authors(new_uow)
    await added(
        new_uow,
        a_post(ada, "Greeting", content="Hello, world!", minutes=1),
        a_post(ada, "Ünïcode notes", content="about text", minutes=2),
        a_post(ada, "Percent", content="it is 100% sure_thing", minutes=3),
        a_post(ada, "Hidden hello", content="hello world", published=False, minutes=4),
    )
    assert await titles(new_uow, filter=PostFilter(words=words), sort=PostSort.CREATED) == expected


async def test_export_walks_every_match_once_in_keyset_order(new_uow: UowFactory) -> None:
    ada, _ = await authors(new_uow)
    made = await added(
        new_uow,
        *(a_post(ada, f"Post {n}", minutes=n // 3, tags=["t"]) for n in range(7)),
        a_post(ada, "Draft", published=False),
        a_post(ada, "Untagged"),
    )
    expected = sorted((p for p in made if p.published and p.tags.names), key=lambda p: (p.created_at, p.id))
    walked: list[Post] = []
    after = None
    async with new_uow() as uow:
        while batch := await uow.posts.export_batch(PostFilter(tag="t"), after, 2):
            assert len(batch) <= 2
            walked.extend(batch)
            after = ExportCursor(created_at=batch[-1].created_at, post_id=batch[-1].id)
    assert [p.id for p in walked] == [p.id for p in expected]


async def test_tag_counts_count_published_posts_by_count_then_name(new_uow: UowFactory) -> None:
    ada, _ = await authors(new_uow)
    await added(
        new_uow,
        a_post(ada, tags=["b", "a"]),
        a_post(ada, tags=["b", "a-b"]),
        a_post(ada, tags=["a", "c"], published=False),
        a_post(ada, tags=["a", "a0"]),
        a_post(ada),
    )
    async with new_uow() as uow:
        assert await uow.posts.tag_counts() == [
            TagCount("a", 2),
            TagCount("b", 2),
            TagCount("a-b", 1),
            TagCount("a0", 1),
        ]


@pytest.fixture(params=["sqlite", "postgres"])
def sql_engine(request: pytest.FixtureRequest) -> AsyncEngine:
    engine: AsyncEngine = request.getfixturevalue(f"{'pg' if request.param == 'postgres' else 'sqlite'}_engine")
    return engine


async def _count(engine: AsyncEngine, table: Any, *where: Any) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


async def test_deleting_an_author_deletes_their_posts_tags_and_files(sql_engine: AsyncEngine) -> None:
    def new_uow() -> Any:
        return sql_unit(sql_engine)

    ada, bob = await authors(new_uow)
    await added(new_uow, a_post(ada, tags=["x"]), a_post(ada, tags=["x", "y"]), a_post(bob, tags=["y"]))
    key = FileKey(f"{uuid4().hex}.png")
    record = StoredFile(id=FileId(uuid4()), key=key, owner_id=ada.id, content_type="image/png", size=3, created_at=T0)
    async with new_uow() as uow:
        await uow.files.add(record)
        await uow.commit()
    assert await _count(sql_engine, files) == 1
    async with sql_engine.begin() as connection:
        await connection.execute(delete(users).where(users.c.id == ada.id))
    assert (await _count(sql_engine, posts), await _count(sql_engine, post_tags)) == (1, 1)
    assert await _count(sql_engine, files) == 0


async def test_file_records_are_added_and_removed(sql_engine: AsyncEngine) -> None:
    def new_uow() -> Any:
        return sql_unit(sql_engine)

    ada, _ = await authors(new_uow)
    keys = [FileKey(f"{uuid4().hex}.png") for _ in range(2)]
    async with new_uow() as uow:
        for key in keys:
            await uow.files.add(
                StoredFile(
                    id=FileId(uuid4()), key=key, owner_id=ada.id, content_type="image/png", size=1, created_at=T0
                )
            )
        await uow.files.remove(keys[0])
        await uow.files.remove(FileKey(f"{uuid4().hex}.gif"))  # missing: no error
        await uow.commit()
    assert await _count(sql_engine, files, files.c.key == keys[1].value) == 1
    assert await _count(sql_engine, files) == 1
