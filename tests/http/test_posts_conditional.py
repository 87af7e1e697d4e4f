"""ETags and conditional requests on /api/v1/posts, concurrent edits, and cache freshness:
every read reflects every write that has returned, in one process (in-memory cache), with
Redis, and across two apps sharing one database and one Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.http.conftest import API, Api, running_api
from tests.http.helpers import assert_problem
from tests.http.test_posts_crud import POSTS, author, new_post, post_url
from tests.support.services import truncate_pg
from tests.support.settings import test_settings

TAGS = f"{API}/tags"


async def a_post(api: Api, **body: Any) -> tuple[dict[str, Any], dict[str, str]]:
    ada = await author(api)
    return await new_post(api, ada.auth, published=True, **body), ada.auth


async def test_a_matching_if_none_match_is_304_by_id_and_by_slug(api: Api) -> None:
    post, auth = await a_post(api)
    for tag in ('"1"', 'W/"1"', '"9", "1"', '"9",W/"1"', "*"):
        for url in (post_url(post), f"{POSTS}/by-slug/{post['slug']}"):
            for headers in ({}, auth):
                response = await api.client.get(url, headers={**headers, "If-None-Match": tag})
                assert response.status_code == 304, (tag, url, headers)
                assert response.content == b""
                assert response.headers["ETag"] == '"1"'
    for tag in ('"2"', 'W/"2"', '"11"', "garbage"):
        response = await api.client.get(post_url(post), headers={"If-None-Match": tag})
        assert (response.status_code, response.json()["id"]) == (200, post["id"]), tag


async def test_an_old_etag_is_200_with_the_new_one(api: Api) -> None:
    post, auth = await a_post(api)
    edited = await api.client.patch(post_url(post), json={"title": "Edited"}, headers={**auth, "If-Match": '"1"'})
    assert edited.status_code == 200, edited.text
    for url in (post_url(post), f"{POSTS}/by-slug/{post['slug']}"):
        response = await api.client.get(url, headers={"If-None-Match": '"1"'})
        assert (response.status_code, response.headers["ETag"]) == (200, '"2"')
        assert response.json()["title"] == "Edited"
        assert (await api.client.get(url, headers={"If-None-Match": '"2"'})).status_code == 304


async def test_a_draft_is_not_revealed_through_if_none_match(api: Api) -> None:
    ada = await author(api)
    bob = await author(api, "bob@example.com")
    draft = await new_post(api, ada.auth)
    for headers in ({}, bob.auth):
        response = await api.client.get(post_url(draft), headers={**headers, "If-None-Match": '"1"'})
        assert_problem(response, 404)
    assert (await api.client.get(post_url(draft), headers={**ada.auth, "If-None-Match": "*"})).status_code == 304


async def test_if_match_star_accepts_any_current_version(api: Api) -> None:
    post, auth = await a_post(api)
    url = post_url(post)
    await api.client.patch(url, json={"content": "two"}, headers={**auth, "If-Match": '"1"'})
    patched = await api.client.patch(url, json={"content": "three"}, headers={**auth, "If-Match": "*"})
    assert (patched.status_code, patched.json()["version"]) == (200, 3)
    replaced = await api.client.put(
        url, json={"title": "Star", "content": "c", "tags": [], "published": True}, headers={**auth, "If-Match": "*"}
    )
    assert (replaced.status_code, replaced.json()["version"], replaced.headers["ETag"]) == (200, 4, '"4"')
    assert (await api.client.delete(url, headers={**auth, "If-Match": "*"})).status_code == 204


async def test_weak_or_unusable_if_match_is_412_and_changes_nothing(api: Api) -> None:
    post, auth = await a_post(api)
    url = post_url(post)
    full = {"title": "xxxxx", "content": "c", "tags": [], "published": True}
    for if_match in ('W/"1"', "garbage", '"abc"', '"1', '"01x"'):
        for method, body in (("PATCH", {"title": "x" * 5}), ("PUT", full)):
            response = await api.client.request(method, url, json=body, headers={**auth, "If-Match": if_match})
            assert assert_problem(response, 412)["current_version"] == 1, (if_match, method)
            assert response.headers["ETag"] == '"1"'
        assert_problem(await api.client.delete(url, headers={**auth, "If-Match": if_match}), 412)
    assert (await api.client.get(url)).json() == post


async def test_if_match_wins_over_the_body_version(api: Api) -> None:
    post, auth = await a_post(api)
    response = await api.client.patch(
        post_url(post), json={"title": "Header wins", "version": 9}, headers={**auth, "If-Match": '"1"'}
    )
    assert (response.status_code, response.json()["version"]) == (200, 2)


async def test_each_accepted_write_adds_exactly_one_version(api: Api) -> None:
    post, auth = await a_post(api)
    for expected in range(1, 6):
        response = await api.client.patch(
            post_url(post), json={"content": f"edit {expected}"}, headers={**auth, "If-Match": f'"{expected}"'}
        )
        assert response.json()["version"] == expected + 1
        assert response.headers["ETag"] == f'"{expected + 1}"'


async def test_concurrent_edits_with_one_version_have_exactly_one_winner(api: Api) -> None:
    post, auth = await a_post(api)
    url = post_url(post)

    async def edit(n: int) -> httpx.Response:
        if n % 2:
            return await api.client.patch(url, json={"title": f"writer {n}"}, headers={**auth, "If-Match": '"1"'})
        body = {"title": f"writer {n}", "content": "c", "tags": [], "published": True, "version": 1}
        return await api.client.put(url, json=body, headers=auth)

    responses = await asyncio.gather(*(edit(n) for n in range(10)))
    assert sorted(r.status_code for r in responses) == [200] + [412] * 9
    winner = next(r for r in responses if r.status_code == 200).json()
    assert winner["version"] == 2
    assert all(
        r.json()["current_version"] == 2 and r.headers["ETag"] == '"2"' for r in responses if r.status_code == 412
    )
    final = (await api.client.get(url)).json()
    assert (final["version"], final["title"]) == (2, winner["title"])


async def test_concurrent_creates_with_one_title_get_distinct_slugs(api: Api) -> None:
    ada = await author(api)
    responses = await asyncio.gather(
        *(api.client.post(POSTS, json={"title": "Same title", "content": "c"}, headers=ada.auth) for _ in range(8))
    )
    assert [r.status_code for r in responses] == [201] * 8
    slugs = sorted(r.json()["slug"] for r in responses)
    assert slugs == sorted(["same-title", *(f"same-title-{n}" for n in range(2, 9))])


# --- freshness ------------------------------------------------------------------------------


async def public_views(api: Api, post: dict[str, Any]) -> dict[str, Any]:
    """What an anonymous reader sees now: the listing's titles, the post by id and by slug
    (status and title), and the tag counts."""
    listing = await api.client.get(POSTS)
    assert listing.status_code == 200, listing.text
    by_id = await api.client.get(post_url(post))
    by_slug = await api.client.get(f"{POSTS}/by-slug/{post['slug']}")
    tags = await api.client.get(TAGS)
    assert tags.status_code == 200, tags.text
    return {
        "list": [p["title"] for p in listing.json()["items"]],
        "total": listing.json()["total"],
        "by_id": (by_id.status_code, by_id.json().get("title")),
        "by_slug": (by_slug.status_code, by_slug.json().get("title")),
        "tags": tags.json(),
    }


async def check_freshness(writer: Api, reader: Api) -> None:
    """Writes through ``writer``; after each one returns, anonymous reads through ``reader``
    (which has read, and so maybe cached, everything just before) reflect it."""
    ada = await author(writer)
    base = await new_post(writer, ada.auth, title="Base post", tags=["base"], published=True)
    await public_views(reader, base)  # warm every cache of the reader

    post = await new_post(writer, ada.auth, title="Fresh post", tags=["fresh", "base"], published=True)
    seen = await public_views(reader, post)
    assert seen["list"] == ["Fresh post", "Base post"] and seen["total"] == 2
    assert seen["by_id"] == seen["by_slug"] == (200, "Fresh post")
    assert seen["tags"] == [{"name": "base", "count": 2}, {"name": "fresh", "count": 1}]

    edited = await writer.client.patch(
        post_url(post), json={"title": "Edited post", "tags": ["edited"]}, headers={**ada.auth, "If-Match": '"1"'}
    )
    assert edited.status_code == 200, edited.text
    seen = await public_views(reader, post)
    assert seen["list"] == ["Edited post", "Base post"]
    assert seen["by_id"] == seen["by_slug"] == (200, "Edited post")
    assert seen["tags"] == [{"name": "base", "count": 1}, {"name": "edited", "count": 1}]
    assert (await reader.client.get(post_url(post), headers={"If-None-Match": '"1"'})).status_code == 200

    unpublished = await writer.client.patch(
        post_url(post), json={"published": False}, headers={**ada.auth, "If-Match": '"2"'}
    )
    assert unpublished.status_code == 200, unpublished.text
    seen = await public_views(reader, post)
    assert seen["list"] == ["Base post"] and seen["total"] == 1
    assert seen["by_id"][0] == seen["by_slug"][0] == 404
    assert seen["tags"] == [{"name": "base", "count": 1}]

    republished = await writer.client.patch(
        post_url(post), json={"published": True}, headers={**ada.auth, "If-Match": '"3"'}
    )
    assert republished.status_code == 200, republished.text
    seen = await public_views(reader, post)
    assert seen["list"] == ["Edited post", "Base post"]
    assert seen["by_id"] == seen["by_slug"] == (200, "Edited post")

    assert (await writer.client.delete(post_url(post), headers=ada.auth)).status_code == 204
    seen = await public_views(reader, post)
    assert seen["list"] == ["Base post"] and seen["total"] == 1
    assert seen["by_id"][0] == seen["by_slug"][0] == 404
    assert seen["tags"] == [{"name": "base", "count": 1}]

    # a published=true listing (the same for everyone) is fresh as well
    await reader.client.get(POSTS, params={"published": "true", "tag": "base"})
    await new_post(writer, ada.auth, title="Third post", tags=["base"], published=True)
    filtered = await reader.client.get(POSTS, params={"published": "true", "tag": "base"})
    assert [p["title"] for p in filtered.json()["items"]] == ["Third post", "Base post"]
    assert (await reader.client.get(TAGS)).json() == [{"name": "base", "count": 2}]


async def test_reads_reflect_every_write_with_the_in_memory_cache(api: Api) -> None:
    assert api.settings.redis_url is None and api.settings.workers == 1
    await check_freshness(api, api)


async def test_reads_reflect_every_write_with_redis_and_across_two_apps(pg_url: str, redis_url: str) -> None:
    settings = test_settings(pg_url, redis_url=redis_url)
    async with running_api(settings) as one:
        await check_freshness(one, one)
    await truncate_pg(pg_url)
    async with running_api(settings) as first, running_api(settings) as second:
        await check_freshness(first, second)
