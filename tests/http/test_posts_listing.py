"""GET /api/v1/posts (envelope, sorts, filters, visibility, word search) and GET /api/v1/tags,
on PostgreSQL, and a smoke of posts on SQLite and on memory://."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.http.conftest import API, Api, running_api
from tests.http.helpers import assert_problem, field_errors
from tests.http.test_posts_crud import POST_KEYS, POSTS, admin, author, new_post, post_url
from tests.support.settings import test_settings

TAGS = f"{API}/tags"


async def listed(api: Api, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    response = await api.client.get(POSTS, params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def titles(api: Api, headers: dict[str, str] | None = None, **params: Any) -> list[str]:
    return [p["title"] for p in (await listed(api, headers, **params))["items"]]


async def test_the_envelope_the_default_sort_and_pages(api: Api) -> None:
    ada = await author(api)
    for n in range(5):
        await new_post(api, ada.auth, title=f"Post {n}", published=True)
        api.clock.advance(timedelta(minutes=1))
    page = await listed(api)
    assert set(page) == {"items", "page", "size", "total", "pages"}
    assert (page["page"], page["size"], page["total"], page["pages"]) == (1, 20, 5, 1)
    assert [p["title"] for p in page["items"]] == [f"Post {n}" for n in (4, 3, 2, 1, 0)]
    assert all(set(p) == POST_KEYS for p in page["items"])
    second = await listed(api, size=2, page=2)
    assert ([p["title"] for p in second["items"]], second["total"], second["pages"]) == (["Post 2", "Post 1"], 5, 3)
    assert [p["title"] for p in (await listed(api, size=2, page=3))["items"]] == ["Post 0"]
    beyond = await listed(api, size=2, page=9)
    assert (beyond["items"], beyond["total"], beyond["page"]) == ([], 5, 9)
    assert (await listed(api, size=100))["size"] == 100
    assert (await listed(api, size=1))["pages"] == 5


def _expected(posts: list[dict[str, Any]], sort: str) -> list[str]:
    field, descending = sort.lstrip("-"), sort.startswith("-")
    ordered = sorted(posts, key=lambda p: (p[field], UUID(p["id"])), reverse=descending)
    return [p["id"] for p in ordered]


async def test_every_sort_orders_with_ties_by_id(api: Api) -> None:
    ada = await author(api)
    made: list[dict[str, Any]] = []
    # created: two at once (a tie), titles with a tie and mixed case, updates in another order
    for title, step in [("banana", 1), ("Apple", 0), ("cherry", 2), ("banana", 1), ("apple", 0)]:
        made.append(await new_post(api, ada.auth, title=title, published=True))
        api.clock.advance(timedelta(minutes=step))
    api.clock.advance(timedelta(minutes=10))
    for post in (made[2], made[0]):  # updated at the same instant: a tie
        response = await api.client.patch(
            post_url(post), json={"content": "edited"}, headers={**ada.auth, "If-Match": '"1"'}
        )
        assert response.status_code == 200, response.text
    api.clock.advance(timedelta(minutes=1))
    response = await api.client.patch(
        post_url(made[4]), json={"content": "edited"}, headers={**ada.auth, "If-Match": '"1"'}
    )
    assert response.status_code == 200, response.text
    current = (await listed(api))["items"]
    assert len({p["created_at"] for p in current}) < 5 and len({p["updated_at"] for p in current}) < 5
    for sort in ("created_at", "-created_at", "title", "-title", "updated_at", "-updated_at"):
        got = [p["id"] for p in (await listed(api, sort=sort))["items"]]
        assert got == _expected(current, sort), sort
        paged = [p["id"] for n in (1, 2, 3) for p in (await listed(api, sort=sort, size=2, page=n))["items"]]
        assert paged == got, sort
    assert [p["id"] for p in (await listed(api))["items"]] == _expected(current, "-created_at")
    by_title = [p["title"] for p in (await listed(api, sort="title"))["items"]]
    assert by_title == ["Apple", "apple", "banana", "banana", "cherry"]


async def test_bad_queries_are_422(api: Api) -> None:
    ada = await author(api)
    for params in (
        {"size": 0},
        {"size": 101},
        {"page": 0},
        {"page": -1},
        {"page": "x"},
        {"sort": "bogus"},
        {"sort": "id"},
        {"sort": "+title"},
        {"published": "maybe"},
        {"author_id": "not-a-uuid"},
        {"q": "w" * 201},
        {"q": "word " * 41},
        {"tag": "Bad Tag"},
        {"tag": "x" * 33},
        {"tag": "x" * 65},
    ):
        for headers in ({}, ada.auth):
            problem = assert_problem(await api.client.get(POSTS, params=params, headers=headers), 422)
            assert field_errors(problem), params
    assert (await listed(api, q="w" * 200))["total"] == 0


async def test_filters_and_who_sees_drafts(api: Api) -> None:
    ada = await author(api)
    bob = await author(api, "bob@example.com")
    root = await admin(api)
    posts = {
        "ada public python": await new_post(api, ada.auth, title="Ada public python", tags=["python"], published=True),
        "ada public news": await new_post(api, ada.auth, title="Ada public news", tags=["news"], published=True),
        "ada draft python": await new_post(api, ada.auth, title="Ada draft python", tags=["python"]),
        "bob public python": await new_post(
            api, bob.auth, title="Bob public python", tags=["python", "news"], published=True
        ),
        "bob draft news": await new_post(api, bob.auth, title="Bob draft news", tags=["news"]),
    }
    api.clock.advance(timedelta(minutes=1))

    async def seen(headers: dict[str, str], **params: Any) -> set[str]:
        page = await listed(api, headers, size=100, **params)
        assert page["total"] == len(page["items"])
        return {p["title"].lower() for p in page["items"]}

    public = {"ada public python", "ada public news", "bob public python"}
    assert await seen({}) == public
    assert await seen(ada.auth) == public | {"ada draft python"}
    assert await seen(bob.auth) == public | {"bob draft news"}
    assert await seen(root.auth) == set(posts)

    # published
    assert await seen({}, published="true") == public
    assert await seen({}, published="false") == set()
    assert await seen(ada.auth, published="false") == {"ada draft python"}
    assert await seen(bob.auth, published="false") == {"bob draft news"}
    assert await seen(root.auth, published="false") == {"ada draft python", "bob draft news"}
    assert await seen(ada.auth, published="true") == public
    # tag (normalized like the tags of a post)
    assert await seen({}, tag="python") == {"ada public python", "bob public python"}
    assert await seen({}, tag=" PYTHON ") == {"ada public python", "bob public python"}
    assert await seen(ada.auth, tag="python") == {"ada public python", "bob public python", "ada draft python"}
    assert await seen({}, tag="nothing") == set()
    # author_id
    assert await seen({}, author_id=ada.id) == {"ada public python", "ada public news"}
    assert await seen(ada.auth, author_id=ada.id) == {"ada public python", "ada public news", "ada draft python"}
    assert await seen(bob.auth, author_id=ada.id) == {"ada public python", "ada public news"}
    assert await seen(root.auth, author_id=bob.id) == {"bob public python", "bob draft news"}
    assert await seen({}, author_id=str(uuid4())) == set()
    # combined
    assert await seen({}, tag="news", author_id=bob.id) == {"bob public python"}
    assert await seen(bob.auth, tag="news", author_id=bob.id, published="false") == {"bob draft news"}
    assert await seen(ada.auth, tag="news", author_id=bob.id, published="false") == set()
    assert await seen(root.auth, tag="python", published="false") == {"ada draft python"}
    assert await seen(root.auth, tag="python", published="true", q="bob") == {"bob public python"}
    assert await seen(ada.auth, tag="python", q="draft") == {"ada draft python"}
    assert await seen(bob.auth, tag="python", q="draft") == set()


async def test_q_matches_whole_words_of_title_or_content(api: Api) -> None:
    ada = await author(api)
    await new_post(api, ada.auth, title="Hello, world!", content="A greeting.", published=True)
    await new_post(api, ada.auth, title="Shell scripts", content="Say HELLO to Bash; 100% portable", published=True)
    await new_post(api, ada.auth, title="Snake_case names", content="hello_world and a_b", published=True)
    await new_post(api, ada.auth, title="Ünïcode Straße", content="Grüße aus Köln", published=True)
    await new_post(api, ada.auth, title="Hidden hello", content="A draft.")
    cases: dict[str, set[str]] = {
        "hello": {"Hello, world!", "Shell scripts", "Snake_case names"},
        "HeLLo": {"Hello, world!", "Shell scripts", "Snake_case names"},
        "hell": set(),
        "hel%": set(),
        "%": set(),
        "%ell%": set(),
        "h_llo": set(),
        "_": set(),
        "world": {"Hello, world!", "Snake_case names"},
        "hello world": {"Hello, world!", "Snake_case names"},
        "world, hello!": {"Hello, world!", "Snake_case names"},
        "hello greeting": {"Hello, world!"},
        "hello bash": {"Shell scripts"},
        "hello nowhere": set(),
        "greeting": {"Hello, world!"},
        "100": {"Shell scripts"},
        "100%": {"Shell scripts"},
        "a_b": {"Snake_case names"},
        "snake": {"Snake_case names"},
        "straße": {"Ünïcode Straße"},
        "ÜNÏCODE köln": {"Ünïcode Straße"},
    }
    for q, expected in cases.items():
        assert set(await titles(api, q=q, size=100)) == expected, q
    assert set(await titles(api, ada.auth, q="hello")) == {
        "Hello, world!",
        "Shell scripts",
        "Snake_case names",
        "Hidden hello",
    }
    bob = await author(api, "bob@example.com")
    assert "Hidden hello" not in await titles(api, bob.auth, q="hello")


async def test_a_q_without_words_is_no_wildcard_after_the_listing_was_cached(api: Api) -> None:
    ada = await author(api)
    await new_post(api, ada.auth, title="Hello world", content="100% sure", published=True)
    assert (await listed(api))["total"] == 1  # the unfiltered public listing is read (and cached) first
    for q in ("%", "%%", "_", "%_%"):
        assert (await listed(api, q=q))["total"] == 0, q
        assert (await listed(api, ada.auth, q=q))["total"] == 0, q


@pytest.mark.parametrize("q", ["%", ""])
async def test_a_q_without_words_leaves_the_unfiltered_listing_alone(api: Api, q: str) -> None:
    ada = await author(api)
    await new_post(api, ada.auth, title="Hello world", published=True)
    await new_post(api, ada.auth, title="Second post", published=True)
    await listed(api, q=q)  # read (and cached) first
    page = await listed(api)
    assert (page["total"], [p["title"] for p in page["items"]]) == (2, ["Second post", "Hello world"])


ADDRESSES = "Write to ada@example.com, see example.org/docs/intro or https://python.org/about (v3.14)"


async def check_words_inside_addresses(api: Api) -> None:
    """Punctuation separates words wherever it is: inside e-mail addresses, host names,
    URLs, paths and decimal numbers too (as the search tokenizer of every profile says)."""
    ada = await author(api)
    post = await new_post(api, ada.auth, title="Addresses", content=ADDRESSES, published=True)
    for q in ("ada", "example", "com", "docs", "intro", "python", "about", "14", "example.com", "ada@example.com"):
        assert [p["id"] for p in (await listed(api, q=q))["items"]] == [post["id"]], q
    for q in ("exam", "pyth", "doc", "1"):
        assert (await listed(api, q=q))["total"] == 0, q


async def test_q_finds_words_inside_addresses_and_numbers(api: Api) -> None:
    await check_words_inside_addresses(api)


async def test_tags_are_counted_over_published_posts(api: Api) -> None:
    ada = await author(api)
    bob = await author(api, "bob@example.com")
    assert (await api.client.get(TAGS)).json() == []
    await new_post(api, ada.auth, tags=["python", "news"], published=True)
    await new_post(api, ada.auth, title="Second", tags=["python", "zebra"], published=True)
    await new_post(api, bob.auth, title="Third", tags=["python", "alpha"], published=True)
    draft = await new_post(api, bob.auth, title="Draft", tags=["secret", "news", "python"])
    response = await api.client.get(TAGS)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    expected = [
        {"name": "python", "count": 3},
        {"name": "alpha", "count": 1},
        {"name": "news", "count": 1},
        {"name": "zebra", "count": 1},
    ]
    assert response.json() == expected
    for headers in (ada.auth, bob.auth):  # the draft's author sees no more
        assert (await api.client.get(TAGS, headers=headers)).json() == expected

    published = await api.client.patch(
        post_url(draft), json={"published": True}, headers={**bob.auth, "If-Match": '"1"'}
    )
    assert published.status_code == 200
    assert (await api.client.get(TAGS)).json() == [
        {"name": "python", "count": 4},
        {"name": "news", "count": 2},
        {"name": "alpha", "count": 1},
        {"name": "secret", "count": 1},
        {"name": "zebra", "count": 1},
    ]
    unpublished = await api.client.patch(
        post_url(draft), json={"published": False}, headers={**bob.auth, "If-Match": '"2"'}
    )
    assert unpublished.status_code == 200
    assert (await api.client.get(TAGS)).json() == expected
    retagged = await api.client.patch(
        post_url(draft), json={"published": True, "tags": ["zebra"]}, headers={**bob.auth, "If-Match": '"3"'}
    )
    assert retagged.status_code == 200
    assert (await api.client.get(TAGS)).json() == [
        {"name": "python", "count": 3},
        {"name": "zebra", "count": 2},
        {"name": "alpha", "count": 1},
        {"name": "news", "count": 1},
    ]


# --- other profiles -------------------------------------------------------------------------


async def smoke(api: Api, *, addresses: bool = True) -> None:
    """Create, list, read, search, edit and export on whatever storage ``api`` runs on
    (``addresses``: also ``check_words_inside_addresses``, which PostgreSQL has its own test for)."""
    ada = await author(api)
    bob = await author(api, "bob@example.com")
    hello = await new_post(api, ada.auth, title="Hello, world!", content="Greetings.", tags=["Intro"], published=True)
    assert (hello["slug"], hello["tags"], hello["version"]) == ("hello-world", ["intro"], 1)
    api.clock.advance(timedelta(minutes=1))
    shell = await new_post(api, ada.auth, title="Hello, world!", content="Shell: say hello_there.", published=True)
    assert shell["slug"] == "hello-world-2"
    api.clock.advance(timedelta(minutes=1))
    draft = await new_post(api, ada.auth, title="Straße draft", content="Ünïcode")

    assert await titles(api) == ["Hello, world!", "Hello, world!"]
    assert [p["id"] for p in (await listed(api, sort="created_at"))["items"]] == [hello["id"], shell["id"]]
    assert await titles(api, ada.auth) == ["Straße draft", "Hello, world!", "Hello, world!"]
    assert await titles(api, bob.auth, published="false") == []
    assert (await api.client.get(post_url(hello))).json() == hello
    assert (await api.client.get(f"{POSTS}/by-slug/hello-world-2")).json() == shell
    assert (await api.client.get(post_url(draft))).status_code == 404
    not_modified = await api.client.get(post_url(hello), headers={"If-None-Match": '"1"'})
    assert not_modified.status_code == 304

    assert {p["id"] for p in (await listed(api, q="hello"))["items"]} == {hello["id"], shell["id"]}
    assert [p["id"] for p in (await listed(api, q="HELLO greetings"))["items"]] == [hello["id"]]
    assert (await listed(api, q="hell"))["total"] == 0
    assert (await listed(api, q="hel%"))["total"] == 0
    assert (await listed(api, q="h_llo"))["total"] == 0
    assert [p["id"] for p in (await listed(api, q="there"))["items"]] == [shell["id"]]
    assert [p["id"] for p in (await listed(api, ada.auth, q="straße ÜNÏCODE"))["items"]] == [draft["id"]]
    assert [p["id"] for p in (await listed(api, tag="intro"))["items"]] == [hello["id"]]
    assert (await api.client.get(TAGS)).json() == [{"name": "intro", "count": 1}]

    edited = await api.client.patch(post_url(shell), json={"title": "Shell"}, headers={**ada.auth, "If-Match": '"1"'})
    assert (edited.status_code, edited.json()["version"], edited.json()["slug"]) == (200, 2, "hello-world-2")
    stale = await api.client.patch(post_url(shell), json={"title": "Lost"}, headers={**ada.auth, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert "Shell" in await titles(api)

    export = await api.client.get(f"{POSTS}/export", headers=ada.auth)
    assert export.status_code == 200, export.text
    assert export.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert [p["id"] for p in lines] == [hello["id"], shell["id"], draft["id"]]
    csv_export = await api.client.get(f"{POSTS}/export", params={"format": "csv", "q": "hello"}, headers=bob.auth)
    assert csv_export.status_code == 200
    assert csv_export.text.splitlines()[0] == "id,slug,title,content,tags,published,author_id,created_at,updated_at"
    assert len(csv_export.text.splitlines()) == 3

    assert (await api.client.delete(post_url(hello), headers=ada.auth)).status_code == 204
    assert await titles(api) == ["Shell"]
    assert (await api.client.get(TAGS)).json() == []

    # one title created concurrently: every post gets its own slug
    same = await asyncio.gather(
        *(api.client.post(POSTS, json={"title": "Same", "content": "c"}, headers=bob.auth) for _ in range(4))
    )
    assert [r.status_code for r in same] == [201] * 4
    assert sorted(r.json()["slug"] for r in same) == ["same", "same-2", "same-3", "same-4"]

    if addresses:
        await check_words_inside_addresses(api)


async def test_posts_on_sqlite(sqlite_url: str) -> None:
    async with running_api(test_settings(sqlite_url)) as api:
        await smoke(api)


async def test_posts_on_memory() -> None:
    async with running_api(test_settings("memory://")) as api:
        await smoke(api)


async def test_posts_on_postgresql(api: Api) -> None:
    await smoke(api, addresses=False)


@pytest.mark.parametrize("profile", ["sqlite", "memory"])
async def test_sorts_and_filters_agree_on_other_profiles(profile: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url") if profile == "sqlite" else "memory://"
    async with running_api(test_settings(url)) as api:
        ada = await author(api)
        made = []
        for title in ("banana", "Apple", "banana", "apple"):
            made.append(await new_post(api, ada.auth, title=title, tags=["fruit"], published=True))
        await new_post(api, ada.auth, title="draft", tags=["fruit"])
        for sort in ("title", "-title", "created_at", "-created_at"):
            got = [p["id"] for p in (await listed(api, sort=sort))["items"]]
            assert got == _expected(made, sort), (profile, sort)
        assert (await listed(api, tag="fruit", published="false"))["total"] == 0
        assert (await listed(api, ada.auth, tag="fruit", published="false"))["total"] == 1
        assert (await api.client.get(TAGS)).json() == [{"name": "fruit", "count": 4}]
