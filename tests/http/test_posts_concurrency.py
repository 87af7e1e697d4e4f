"""Slugs stay unique under concurrent creates (API.md, "Posts": "collision-safe ... even under
concurrent creates"), on PostgreSQL and on SQLite."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.http.conftest import API, Api, running_api
from tests.support.settings import test_settings

CREATES = 50
LONG_TITLE = "Supercalifragilisticexpialidocious" * 3  # 102 letters, one word: the slug is cut at 80


async def create(api: Api, token: str, title: str) -> httpx.Response:
    return await api.client.post(
        f"{API}/posts", json={"title": title, "content": "Same title, another post"}, headers=api.bearer(token)
    )


async def create_many(api: Api, token: str, title: str, count: int) -> list[dict[str, Any]]:
    responses = await asyncio.gather(*(create(api, token, title) for _ in range(count)))
    assert [r.status_code for r in responses] == [201] * count, [r.text for r in responses if r.status_code != 201]
    return [r.json() for r in responses]


@pytest.fixture
async def api_on(any_database_url: str) -> AsyncIterator[Api]:
    async with running_api(test_settings(any_database_url)) as api:
        yield api


async def test_fifty_concurrent_creates_with_one_title_get_fifty_slugs(api_on: Api) -> None:
    api = api_on
    token = str((await api.tokens())["access_token"])
    posts = await create_many(api, token, "Hello, World!", CREATES)

    slugs = [post["slug"] for post in posts]
    assert len(set(slugs)) == CREATES
    assert set(slugs) == {"hello-world"} | {f"hello-world-{n}" for n in range(2, CREATES + 1)}
    assert len({post["id"] for post in posts}) == CREATES

    for post in posts[:3]:  # each slug reaches its own post
        found = await api.client.get(f"{API}/posts/by-slug/{post['slug']}", headers=api.bearer(token))
        assert found.status_code == 200, found.text
        assert found.json()["id"] == post["id"]
    listing = await api.client.get(f"{API}/posts", params={"size": 100}, headers=api.bearer(token))
    assert listing.json()["total"] == CREATES
    assert {item["slug"] for item in listing.json()["items"]} == set(slugs)


async def test_concurrent_creates_with_a_long_title_keep_slugs_within_80_characters(api_on: Api) -> None:
    api = api_on
    token = str((await api.tokens())["access_token"])
    assert len(LONG_TITLE) > 80
    posts = await create_many(api, token, LONG_TITLE, 5)

    slugs = [post["slug"] for post in posts]
    assert len(set(slugs)) == 5, slugs
    assert all(len(slug) <= 80 for slug in slugs), slugs
    base = LONG_TITLE.lower()[:80]
    assert base in slugs
    for slug in slugs:
        match = re.fullmatch(r"([a-z]+)(?:-(\d+))?", slug)
        assert match, slug
        assert base.startswith(match.group(1))
    suffixes = sorted(int(m.group(1)) for slug in slugs if (m := re.search(r"-(\d+)$", slug)))
    assert suffixes == [2, 3, 4, 5], slugs


async def test_a_later_create_continues_the_sequence(api_on: Api) -> None:
    api = api_on
    token = str((await api.tokens())["access_token"])
    await create_many(api, token, "Hello World", 3)
    later = await create(api, token, "hello world")
    assert later.status_code == 201, later.text
    assert later.json()["slug"] == "hello-world-4"
