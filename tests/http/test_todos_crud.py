"""/api/v1/todos: every row of the contract, happy paths and refusals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.http.conftest import API, Api

TODO_KEYS = {"id", "title", "description", "completed", "due_at", "version", "created_at", "updated_at"}


async def signed_in(api: Api, email: str = "ada@example.com") -> dict[str, str]:
    return api.bearer((await api.tokens(email))["access_token"])


async def create(api: Api, auth: dict[str, str], **body: Any) -> httpx.Response:
    return await api.client.post(f"{API}/todos", json={"title": "Buy milk", **body}, headers=auth)


async def test_create_answers_201_with_location_etag_and_the_todo(api: Api) -> None:
    auth = await signed_in(api)
    response = await create(api, auth, title="  Buy milk ", description="oat", due_at="2026-12-01T10:00:00Z")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == TODO_KEYS
    assert (body["title"], body["description"], body["completed"], body["version"]) == ("Buy milk", "oat", False, 1)
    assert body["due_at"] == "2026-12-01T10:00:00Z" and body["created_at"].endswith("Z")
    assert response.headers["Location"] == f"/api/v1/todos/{body['id']}"
    assert response.headers["ETag"] == '"1"'
    fetched = await api.client.get(response.headers["Location"], headers=auth)
    assert fetched.status_code == 200 and fetched.json() == body and fetched.headers["ETag"] == '"1"'


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "description": "d" * 2001}, "description"),
        ({"title": "ok", "due_at": "tomorrow"}, "due_at"),
        ({"title": "ok", "owner_id": str(uuid4())}, "owner_id"),
        ({"title": 5}, "title"),
    ],
)
async def test_create_refuses_invalid_bodies_with_422(api: Api, body: dict[str, Any], field: str) -> None:
    auth = await signed_in(api)
    response = await api.client.post(f"{API}/todos", json=body, headers=auth)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]
    listed = await api.client.get(f"{API}/todos", headers=auth)
    assert listed.json()["total"] == 0


async def test_bounds_are_inclusive(api: Api) -> None:
    auth = await signed_in(api)
    response = await create(api, auth, title="x" * 200, description="d" * 2000)
    assert response.status_code == 201


async def test_every_operation_needs_a_token(api: Api) -> None:
    some = f"{API}/todos/{uuid4()}"
    for method, url in [
        ("GET", f"{API}/todos"),
        ("POST", f"{API}/todos"),
        ("GET", some),
        ("PUT", some),
        ("PATCH", some),
        ("PATCH", f"{some}/toggle"),
        ("DELETE", some),
    ]:
        response = await api.client.request(method, url, json={"title": "x"})
        assert response.status_code == 401, (method, url)


async def test_someone_elses_todo_is_404_for_every_operation(api: Api) -> None:
    mine = await signed_in(api)
    theirs = await signed_in(api, "bob@example.com")
    url = f"{API}/todos/{(await create(api, mine)).json()['id']}"
    attempts = [
        api.client.get(url, headers=theirs),
        api.client.put(url, json={"title": "x"}, headers={**theirs, "If-Match": '"1"'}),
        api.client.patch(url, json={"title": "x"}, headers={**theirs, "If-Match": '"1"'}),
        api.client.patch(f"{url}/toggle", headers=theirs),
        api.client.delete(url, headers=theirs),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 404
        assert response.json()["type"].endswith("not-found")
    still = await api.client.get(url, headers=mine)
    assert still.json()["version"] == 1 and still.json()["title"] == "Buy milk"
    assert (await api.client.get(f"{API}/todos", headers=theirs)).json()["total"] == 0


async def test_unknown_and_malformed_ids(api: Api) -> None:
    auth = await signed_in(api)
    assert (await api.client.get(f"{API}/todos/{uuid4()}", headers=auth)).status_code == 404
    malformed = await api.client.get(f"{API}/todos/not-a-uuid", headers=auth)
    assert malformed.status_code == 404 and malformed.headers["content-type"] == "application/problem+json"


async def test_put_replaces_every_field(api: Api) -> None:
    auth = await signed_in(api)
    created = (await create(api, auth, description="old", due_at="2026-12-01T10:00:00Z")).json()
    response = await api.client.put(
        f"{API}/todos/{created['id']}", json={"title": "New", "completed": True, "version": 1}, headers=auth
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["description"], body["completed"], body["due_at"], body["version"]) == (
        "New",
        "",
        True,
        None,
        2,
    )
    assert response.headers["ETag"] == '"2"'


async def test_patch_changes_only_what_is_sent_and_null_clears_the_due_date(api: Api) -> None:
    auth = await signed_in(api)
    created = (await create(api, auth, description="keep", due_at="2026-12-01T10:00:00Z")).json()
    url = f"{API}/todos/{created['id']}"
    first = await api.client.patch(url, json={"completed": True}, headers={**auth, "If-Match": '"1"'})
    assert first.status_code == 200
    assert (first.json()["description"], first.json()["due_at"], first.json()["completed"]) == (
        "keep",
        "2026-12-01T10:00:00Z",
        True,
    )
    cleared = await api.client.patch(url, json={"due_at": None, "version": 2}, headers=auth)
    assert cleared.json()["due_at"] is None and cleared.json()["version"] == 3


async def test_toggle_flips_and_honours_if_match(api: Api) -> None:
    auth = await signed_in(api)
    url = f"{API}/todos/{(await create(api, auth)).json()['id']}"
    flipped = await api.client.patch(f"{url}/toggle", headers=auth)
    assert (flipped.status_code, flipped.json()["completed"], flipped.headers["ETag"]) == (200, True, '"2"')
    stale = await api.client.patch(f"{url}/toggle", headers={**auth, "If-Match": '"1"'})
    assert stale.status_code == 412
    back = await api.client.patch(f"{url}/toggle", headers={**auth, "If-Match": '"2"'})
    assert (back.json()["completed"], back.json()["version"]) == (False, 3)


async def test_delete_answers_204_then_404_and_honours_if_match(api: Api) -> None:
    auth = await signed_in(api)
    url = f"{API}/todos/{(await create(api, auth)).json()['id']}"
    assert (await api.client.delete(url, headers={**auth, "If-Match": '"7"'})).status_code == 412
    deleted = await api.client.delete(url, headers=auth)
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await api.client.get(url, headers=auth)).status_code == 404
    assert (await api.client.delete(url, headers=auth)).status_code == 404


async def test_list_pages_filters_and_sorts(api: Api) -> None:
    auth = await signed_in(api)
    for n, title in enumerate(["c", "a", "b"]):
        todo = (await create(api, auth, title=title)).json()
        api.clock.advance(timedelta(minutes=1))
        if n == 1:
            await api.client.patch(f"{API}/todos/{todo['id']}/toggle", headers=auth)
    page = (await api.client.get(f"{API}/todos", headers=auth)).json()
    assert set(page) == {"items", "page", "size", "total", "pages"}
    assert ([t["title"] for t in page["items"]], page["page"], page["size"], page["total"], page["pages"]) == (
        ["b", "a", "c"],
        1,
        20,
        3,
        1,
    )
    by_title = (await api.client.get(f"{API}/todos?sort=title&size=2&page=2", headers=auth)).json()
    assert ([t["title"] for t in by_title["items"]], by_title["pages"]) == (["c"], 2)
    done = (await api.client.get(f"{API}/todos?completed=true", headers=auth)).json()
    assert [t["title"] for t in done["items"]] == ["a"]
    open_ = (await api.client.get(f"{API}/todos?completed=false&sort=-title", headers=auth)).json()
    assert [t["title"] for t in open_["items"]] == ["c", "b"]


@pytest.mark.parametrize("query", ["size=0", "size=101", "page=0", "sort=bogus", "completed=maybe", "page=x"])
async def test_list_refuses_bad_queries_with_422(api: Api, query: str) -> None:
    auth = await signed_in(api)
    response = await api.client.get(f"{API}/todos?{query}", headers=auth)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
