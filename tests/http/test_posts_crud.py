"""/api/v1/posts: create, read, replace, edit and delete, slugs, visibility and moderation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.http.conftest import API, Api
from tests.http.helpers import (
    RFC3339_UTC,
    assert_problem,
    assert_unauthorized,
    claims_of,
    field_errors,
    sign,
)
from tests.http.test_users_api import admin_token

POSTS = f"{API}/posts"
POST_KEYS = {
    "id",
    "slug",
    "title",
    "content",
    "tags",
    "published",
    "author_id",
    "image_url",
    "version",
    "created_at",
    "updated_at",
}


class Author:
    """A signed-in account: its bearer headers and id."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.auth = Api.bearer(token)
        self.id = str(claims_of(token)["sub"])


async def author(api: Api, email: str = "ada@example.com") -> Author:
    return Author(str((await api.tokens(email))["access_token"]))


async def admin(api: Api) -> Author:
    return Author(await admin_token(api))


async def create(api: Api, auth: dict[str, str] | None, **body: Any) -> httpx.Response:
    return await api.client.post(
        POSTS, json={"title": "Hello world", "content": "The first post.", **body}, headers=auth or {}
    )


async def new_post(api: Api, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    """Create a post (201 expected); its body."""
    response = await create(api, auth, **body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def post_url(post: dict[str, Any]) -> str:
    return f"{POSTS}/{post['id']}"


# --- create ---------------------------------------------------------------------------------


async def test_create_answers_201_with_location_etag_and_the_normalized_post(api: Api) -> None:
    ada = await author(api)
    api.clock.advance(timedelta(microseconds=123456))  # sub-second instants survive
    response = await create(
        api, ada.auth, title="  Hello world  ", content="Body.", tags=[" Python ", "NEWS", "python", "a-1"]
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == POST_KEYS
    assert response.headers["Location"] == f"/api/v1/posts/{body['id']}"
    assert response.headers["ETag"] == '"1"'
    assert body["title"] == "Hello world"
    assert body["content"] == "Body."
    assert body["slug"] == "hello-world"
    assert body["tags"] == ["a-1", "news", "python"]
    assert body["published"] is False
    assert body["image_url"] is None
    assert body["version"] == 1
    assert body["author_id"] == ada.id
    assert RFC3339_UTC.match(body["created_at"]) and RFC3339_UTC.match(body["updated_at"])
    assert body["created_at"] == "2026-11-22T10:00:00.123456Z" and body["updated_at"] == body["created_at"]

    fetched = await api.client.get(response.headers["Location"], headers=ada.auth)
    assert fetched.status_code == 200
    assert fetched.json() == body
    assert fetched.headers["ETag"] == '"1"'


async def test_create_published_and_bounds(api: Api) -> None:
    ada = await author(api)
    published = await new_post(api, ada.auth, published=True, tags=[])
    assert (published["published"], published["tags"]) == (True, [])
    # 200 code points (astral: 400 UTF-16 units, 800 UTF-8 bytes) and 3 after trimming
    assert (await new_post(api, ada.auth, title="😀" * 200))["title"] == "😀" * 200
    assert (await new_post(api, ada.auth, title="  abc  "))["title"] == "abc"
    ten = [f"t{n}" for n in range(10)]
    assert (await new_post(api, ada.auth, tags=ten))["tags"] == sorted(ten)
    assert (await new_post(api, ada.auth, tags=["x" * 32]))["tags"] == ["x" * 32]
    # duplicates removed before the count: 11 given, 10 distinct
    assert len((await new_post(api, ada.auth, tags=[*ten, "T0"]))["tags"]) == 10


INVALID_CREATES: list[tuple[dict[str, Any], str]] = [
    ({"title": "ab"}, "title"),
    ({"title": "  ab  "}, "title"),
    ({"title": "   "}, "title"),
    ({"title": ""}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"title": "é" * 201}, "title"),
    ({"content": ""}, "content"),
    ({"content": "  \n\t "}, "content"),
    ({"tags": [f"t{n}" for n in range(11)]}, "tags"),
    ({"tags": ["no spaces"]}, "tags"),
    ({"tags": ["under_score"]}, "tags"),
    ({"tags": ["ünï"]}, "tags"),
    ({"tags": [""]}, "tags"),
    ({"tags": ["x" * 33]}, "tags"),
    ({"slug": "my-slug"}, "slug"),
    ({"version": 1}, "version"),
    ({"author_id": str(uuid4())}, "author_id"),
    ({"image_url": None}, "image_url"),
    ({"title": 5}, "title"),
    ({"content": ["a"]}, "content"),
    ({"tags": "python"}, "tags"),
    ({"tags": [1]}, "tags"),
    ({"published": "yes"}, "published"),
]


def names_field(fields: dict[str, str], field: str) -> bool:
    return any(name == field or name.startswith((f"{field}[", f"{field}.")) for name in fields)


async def test_create_refuses_invalid_bodies_with_422(api: Api) -> None:
    ada = await author(api)
    for body, field in INVALID_CREATES:
        response = await create(api, ada.auth, **body)
        fields = field_errors(assert_problem(response, 422))
        assert names_field(fields, field), (body, fields)
    listed = await api.client.get(POSTS, headers=ada.auth)
    assert listed.json()["total"] == 0


async def test_create_refuses_missing_fields_and_needs_a_token(api: Api) -> None:
    ada = await author(api)
    for missing in ("title", "content"):
        body = {"title": "Hello world", "content": "Body."}
        del body[missing]
        problem = assert_problem(await api.client.post(POSTS, json=body, headers=ada.auth), 422)
        assert missing in field_errors(problem)
    for raw in (b'{"title": "Hello world", "content": ', b"not json", b"[1, 2]"):
        malformed = await api.client.post(POSTS, content=raw, headers={**ada.auth, "Content-Type": "application/json"})
        assert malformed.status_code in (400, 422), malformed.text
        assert_problem(malformed, malformed.status_code)
    assert_problem(
        await api.client.post(
            POSTS,
            content=b'{"title": "Hello world", "content": ',
            headers={**ada.auth, "Content-Type": "application/json"},
        ),
        400,
    )
    assert_unauthorized(await create(api, None))
    assert_unauthorized(await create(api, {"Authorization": "Bearer not-a-token"}))
    assert (await api.client.get(POSTS)).json()["total"] == 0


# --- slugs ----------------------------------------------------------------------------------


async def test_slugs_are_derived_from_the_title_and_numbered_when_taken(api: Api) -> None:
    ada = await author(api)
    bob = await author(api, "bob@example.com")
    assert (await new_post(api, ada.auth, title="Crème Brûlée"))["slug"] == "creme-brulee"
    assert (await new_post(api, bob.auth, title="Crème Brûlée"))["slug"] == "creme-brulee-2"
    assert (await new_post(api, ada.auth, title="creme   BRULEE!!"))["slug"] == "creme-brulee-3"
    assert (await new_post(api, ada.auth, title="!!! ??? ***"))["slug"] == "post"
    assert (await new_post(api, ada.auth, title="日本語のタイトル"))["slug"] == "post-2"
    assert (await new_post(api, ada.auth, title="  --Hello,   World--  "))["slug"] == "hello-world"
    long = await new_post(api, ada.auth, title="word " * 39)
    assert long["slug"] == "-".join(["word"] * 16)  # 79 characters: the cut never leaves a "-"
    longer = await new_post(api, ada.auth, title="abcdefghij" * 10)
    assert longer["slug"] == "abcdefghij" * 8
    again = await new_post(api, ada.auth, title="abcdefghij" * 10)
    assert again["slug"] == "abcdefghij" * 7 + "abcdefgh-2"


async def test_by_slug_reads_the_post_with_its_etag(api: Api) -> None:
    ada = await author(api)
    post = await new_post(api, ada.auth, title="Crème Brûlée", published=True)
    response = await api.client.get(f"{POSTS}/by-slug/creme-brulee")
    assert response.status_code == 200
    assert response.json() == post
    assert response.headers["ETag"] == '"1"'
    for slug in ("nope", "creme-brulee-2", "UPPER", "a" * 100, "two--hyphens", "-lead", "with_underscore"):
        assert_problem(await api.client.get(f"{POSTS}/by-slug/{slug}"), 404)


async def test_the_slug_stays_when_the_title_changes(api: Api) -> None:
    ada = await author(api)
    post = await new_post(api, ada.auth, title="First title", published=True)
    patched = await api.client.patch(
        post_url(post), json={"title": "Second title"}, headers={**ada.auth, "If-Match": '"1"'}
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["title"], patched.json()["slug"]) == ("Second title", "first-title")
    put = await api.client.put(
        post_url(post),
        json={"title": "Third", "content": "c", "tags": [], "published": True, "version": 2},
        headers=ada.auth,
    )
    assert put.status_code == 200, put.text
    assert put.json()["slug"] == "first-title"
    assert (await api.client.get(f"{POSTS}/by-slug/first-title")).json()["title"] == "Third"
    assert_problem(await api.client.get(f"{POSTS}/by-slug/third"), 404)
    # a new post with the old title still gets a numbered slug
    assert (await new_post(api, ada.auth, title="First title"))["slug"] == "first-title-2"


# --- replace and edit -----------------------------------------------------------------------


async def test_put_replaces_all_four_writable_fields(api: Api) -> None:
    ada = await author(api)
    post = await new_post(api, ada.auth, title="Old", content="old body", tags=["a", "b"], published=True)
    api.clock.advance(timedelta(minutes=5))
    response = await api.client.put(
        post_url(post),
        json={"title": " New title ", "content": "new body", "tags": ["C"], "published": False},
        headers={**ada.auth, "If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == POST_KEYS
    assert (body["title"], body["content"], body["tags"], body["published"], body["version"]) == (
        "New title",
        "new body",
        ["c"],
        False,
        2,
    )
    assert (body["id"], body["slug"], body["author_id"], body["created_at"]) == (
        post["id"],
        post["slug"],
        ada.id,
        post["created_at"],
    )
    assert body["updated_at"] != post["updated_at"] and body["updated_at"].endswith("Z")
    assert response.headers["ETag"] == '"2"'
    assert (await api.client.get(post_url(post), headers=ada.auth)).json() == body


async def test_put_requires_every_writable_field(api: Api) -> None:
    ada = await author(api)
    post = await new_post(api, ada.auth)
    for missing in ("title", "content", "tags", "published"):
        body: dict[str, Any] = {"title": "New title", "content": "new", "tags": [], "published": True, "version": 1}
        del body[missing]
        problem = assert_problem(await api.client.put(post_url(post), json=body, headers=ada.auth), 422)
        assert missing in field_errors(problem)
    assert (await api.client.get(post_url(post), headers=ada.auth)).json() == post


async def test_put_and_patch_refuse_invalid_values_and_unknown_fields(api: Api) -> None:
    ada = await author(api)
    post = await new_post(api, ada.auth)
    headers = {**ada.auth, "If-Match": '"1"'}
    for body, field in [
        ({"title": "ab"}, "title"),
        ({"content": " "}, "content"),
        ({"tags": ["Bad Tag"]}, "tags"),
        ({"slug": "other"}, "slug"),
        ({"image_url": "/x.png"}, "image_url"),
        ({"published": 1}, "published"),
        ({"published": None}, "published"),
        ({"title": None}, "title"),
        ({"tags": None}, "tags"),
    ]:
        problem = assert_problem(await api.client.patch(post_url(post), json=body, headers=headers), 422)
        assert names_field(field_errors(problem), field), (body, problem)
    full = {"title": "Title", "content": "c", "tags": [], "published": False, "slug": "x"}
    assert "slug" in field_errors(assert_problem(await api.client.put(post_url(post), json=full, headers=headers), 422))
    assert (await api.client.get(post_url(post), headers=ada.auth)).json() == post


async def test_patch_changes_only_the_fields_sent(api: Api) -> None:
    ada = await author(api)
    post = await new_post(api, ada.auth, title="Title", content="body", tags=["a"])
    url = post_url(post)
    first = await api.client.patch(url, json={"published": True}, headers={**ada.auth, "If-Match": '"1"'})
    assert first.status_code == 200, first.text
    assert (first.json()["title"], first.json()["content"], first.json()["tags"], first.json()["published"]) == (
        "Title",
        "body",
        ["a"],
        True,
    )
    assert (first.json()["version"], first.headers["ETag"]) == (2, '"2"')
    second = await api.client.patch(url, json={"tags": ["Z", "y"], "version": 2}, headers=ada.auth)
    assert second.status_code == 200, second.text
    assert (second.json()["tags"], second.json()["published"], second.json()["version"]) == (["y", "z"], True, 3)
    third = await api.client.patch(url, json={"content": "new body"}, headers={**ada.auth, "If-Match": '"3"'})
    assert (third.json()["content"], third.json()["title"], third.json()["version"]) == ("new body", "Title", 4)
    empty = await api.client.patch(url, json={}, headers={**ada.auth, "If-Match": '"4"'})
    assert empty.status_code == 200  # an accepted (empty) edit is still one version
    assert empty.json()["version"] == 5


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_updates_without_a_version_are_428_and_stale_ones_412(api: Api, method: str) -> None:
    ada = await author(api)
    post = await new_post(api, ada.auth, title="Original")
    url = post_url(post)
    body = {"title": "Changed", "content": "c", "tags": [], "published": False}

    required = assert_problem(await api.client.request(method, url, json=body, headers=ada.auth), 428)
    assert required["current_version"] == 1
    # the ETag of a 428 names the current version
    response = await api.client.request(method, url, json=body, headers=ada.auth)
    assert response.headers["ETag"] == '"1"'

    ok = await api.client.request(method, url, json=body, headers={**ada.auth, "If-Match": '"1"'})
    assert (ok.status_code, ok.json()["version"], ok.headers["ETag"]) == (200, 2, '"2"')

    for headers, extra in [({"If-Match": '"1"'}, {}), ({}, {"version": 1}), ({"If-Match": '"7"'}, {})]:
        stale = await api.client.request(
            method, url, json={**body, "title": "Lost", **extra}, headers={**ada.auth, **headers}
        )
        problem = assert_problem(stale, 412)
        assert problem["current_version"] == 2
        assert stale.headers["ETag"] == '"2"'
    current = (await api.client.get(url, headers=ada.auth)).json()
    assert (current["title"], current["version"]) == ("Changed", 2)


# --- delete ---------------------------------------------------------------------------------


async def test_delete_answers_204_then_404_and_honours_if_match(api: Api) -> None:
    ada = await author(api)
    post = await new_post(api, ada.auth, published=True)
    url = post_url(post)
    stale = await api.client.delete(url, headers={**ada.auth, "If-Match": '"2"'})
    assert assert_problem(stale, 412)["current_version"] == 1
    assert stale.headers["ETag"] == '"1"'
    assert (await api.client.get(url)).status_code == 200
    deleted = await api.client.delete(url, headers={**ada.auth, "If-Match": '"1"'})
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert_problem(await api.client.get(url, headers=ada.auth), 404)
    assert_problem(await api.client.get(url), 404)
    assert_problem(await api.client.get(f"{POSTS}/by-slug/{post['slug']}"), 404)
    assert_problem(await api.client.delete(url, headers=ada.auth), 404)
    # without If-Match it is allowed
    other = await new_post(api, ada.auth)
    assert (await api.client.delete(post_url(other), headers=ada.auth)).status_code == 204
    assert_unauthorized(await api.client.delete(post_url(other)))


async def test_unknown_and_malformed_ids_are_404(api: Api) -> None:
    ada = await author(api)
    some = f"{POSTS}/{uuid4()}"
    assert_problem(await api.client.get(some), 404)
    assert_problem(await api.client.patch(some, json={"title": "Title"}, headers={**ada.auth, "If-Match": '"1"'}), 404)
    assert_problem(await api.client.delete(some, headers=ada.auth), 404)
    assert (await api.client.get(f"{POSTS}/not-a-uuid")).status_code == 404


# --- visibility and moderation --------------------------------------------------------------


async def test_a_draft_is_seen_by_its_author_and_admins_only(api: Api) -> None:
    ada = await author(api)
    bob = await author(api, "bob@example.com")
    root = await admin(api)
    draft = await new_post(api, ada.auth, title="Secret draft")
    by_id, by_slug = post_url(draft), f"{POSTS}/by-slug/{draft['slug']}"
    for url in (by_id, by_slug):
        assert (await api.client.get(url, headers=ada.auth)).json() == draft
        assert (await api.client.get(url, headers=root.auth)).json() == draft
        assert_problem(await api.client.get(url, headers=bob.auth), 404)
        assert_problem(await api.client.get(url), 404)

    published = await new_post(api, ada.auth, title="Public post", published=True)
    for url in (post_url(published), f"{POSTS}/by-slug/{published['slug']}"):
        for headers in ({}, bob.auth, ada.auth, root.auth):
            response = await api.client.get(url, headers=headers)
            assert response.status_code == 200 and response.json() == published


async def test_a_bad_bearer_on_a_public_read_is_401_not_anonymous(api: Api) -> None:
    ada = await author(api)
    post = await new_post(api, ada.auth, published=True)
    claims = claims_of(ada.token)
    expired = sign({**claims, "iat": claims["iat"] - 3600, "exp": claims["iat"] - 1800})
    for token in ("garbage", expired, ada.token[:-4] + "AAAA"):
        for url in (POSTS, post_url(post), f"{POSTS}/by-slug/{post['slug']}", f"{API}/tags"):
            assert_unauthorized(await api.client.get(url, headers=api.bearer(token)))


async def test_only_the_author_edits(api: Api) -> None:
    ada = await author(api)
    bob = await author(api, "bob@example.com")
    root = await admin(api)
    published = await new_post(api, ada.auth, title="Published", published=True)
    draft = await new_post(api, ada.auth, title="Draft")
    full = {"title": "Hijacked", "content": "x", "tags": [], "published": True}
    for method, body in (("PATCH", {"title": "Hijacked"}), ("PUT", full)):
        headers = {"If-Match": '"1"'}
        assert_problem(
            await api.client.request(method, post_url(published), json=body, headers={**bob.auth, **headers}), 403
        )
        assert_problem(
            await api.client.request(method, post_url(draft), json=body, headers={**bob.auth, **headers}), 404
        )
        assert_problem(
            await api.client.request(method, post_url(published), json=body, headers={**root.auth, **headers}), 403
        )
        assert_problem(
            await api.client.request(method, post_url(draft), json=body, headers={**root.auth, **headers}), 403
        )
    # another user cannot delete either: 403 for a published post, 404 for a draft
    assert_problem(await api.client.delete(post_url(published), headers=bob.auth), 403)
    assert_problem(await api.client.delete(post_url(draft), headers=bob.auth), 404)
    assert (await api.client.get(post_url(published))).json() == published
    assert (await api.client.get(post_url(draft), headers=ada.auth)).json() == draft


async def test_an_admin_deletes_anyones_post_and_it_is_audited(api: Api) -> None:
    ada = await author(api)
    root = await admin(api)
    published = await new_post(api, ada.auth, title="Spam", published=True)
    draft = await new_post(api, ada.auth, title="Draft spam")
    own = await new_post(api, root.auth, title="Admin's own")
    assert (await api.client.delete(post_url(published), headers=root.auth)).status_code == 204
    assert (await api.client.delete(post_url(draft), headers={**root.auth, "If-Match": '"1"'})).status_code == 204
    assert (await api.client.delete(post_url(own), headers=root.auth)).status_code == 204
    for post in (published, draft):
        assert_problem(await api.client.get(post_url(post), headers=ada.auth), 404)

    audit = await api.client.get(f"{API}/audit", params={"type": "post.deleted_by_admin"}, headers=root.auth)
    assert audit.status_code == 200, audit.text
    entries = audit.json()["items"]
    assert len(entries) == 2  # the admin's own post is no moderation
    assert {(e["type"], e["subject_id"], e["actor_id"]) for e in entries} == {
        ("post.deleted_by_admin", ada.id, root.id)
    }
    # the author is told in their own audit listing
    mine = await api.client.get(f"{API}/users/me/audit", headers=ada.auth)
    assert mine.status_code == 200, mine.text
    assert [e["type"] for e in mine.json()["items"]].count("post.deleted_by_admin") == 2
