"""ETags and conditional requests on /api/v1/todos (RFC 9110 §13)."""

from __future__ import annotations

import pytest

from tests.http.conftest import API, Api
from tests.http.test_todos_crud import create, signed_in


async def a_todo_url(api: Api) -> tuple[str, dict[str, str]]:
    auth = await signed_in(api)
    return f"{API}/todos/{(await create(api, auth)).json()['id']}", auth


@pytest.mark.parametrize("tag", ['"1"', 'W/"1"', '"9", "1"', "*"])
async def test_get_with_a_matching_if_none_match_is_304(api: Api, tag: str) -> None:
    url, auth = await a_todo_url(api)
    response = await api.client.get(url, headers={**auth, "If-None-Match": tag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["ETag"] == '"1"'


async def test_get_with_an_old_etag_is_200(api: Api) -> None:
    url, auth = await a_todo_url(api)
    await api.client.patch(f"{url}/toggle", headers=auth)
    response = await api.client.get(url, headers={**auth, "If-None-Match": '"1"'})
    assert response.status_code == 200 and response.headers["ETag"] == '"2"'


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_update_without_if_match_or_version_is_428_with_the_current_version(api: Api, method: str) -> None:
    url, auth = await a_todo_url(api)
    response = await api.client.request(method, url, json={"title": "x"}, headers=auth)
    assert response.status_code == 428
    assert response.json()["current_version"] == 1 and response.headers["ETag"] == '"1"'
    assert (await api.client.get(url, headers=auth)).json()["title"] == "Buy milk"


@pytest.mark.parametrize(
    ("headers", "body_version"),
    [
        ({"If-Match": '"2"'}, None),
        ({}, 2),
        ({"If-Match": 'W/"1"'}, None),
        ({"If-Match": "garbage"}, None),
        ({"If-Match": '"2"'}, 1),
    ],
)
async def test_stale_or_unusable_versions_are_412_and_change_nothing(
    api: Api, headers: dict[str, str], body_version: int | None
) -> None:
    url, auth = await a_todo_url(api)
    body = {"title": "x"} | ({"version": body_version} if body_version else {})
    response = await api.client.patch(url, json=body, headers={**auth, **headers})
    assert response.status_code == 412
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["current_version"] == 1 and response.headers["ETag"] == '"1"'
    current = await api.client.get(url, headers=auth)
    assert (current.json()["title"], current.json()["version"]) == ("Buy milk", 1)


async def test_if_match_wins_over_the_body_version(api: Api) -> None:
    url, auth = await a_todo_url(api)
    response = await api.client.patch(url, json={"title": "x", "version": 5}, headers={**auth, "If-Match": '"1"'})
    assert response.status_code == 200 and response.json()["version"] == 2


async def test_if_match_star_accepts_any_current_version(api: Api) -> None:
    url, auth = await a_todo_url(api)
    await api.client.patch(f"{url}/toggle", headers=auth)
    response = await api.client.put(url, json={"title": "star"}, headers={**auth, "If-Match": "*"})
    assert response.status_code == 200 and response.json()["version"] == 3


async def test_each_accepted_write_adds_exactly_one_version(api: Api) -> None:
    url, auth = await a_todo_url(api)
    for expected in range(1, 6):
        response = await api.client.patch(
            url, json={"description": str(expected)}, headers={**auth, "If-Match": f'"{expected}"'}
        )
        assert response.json()["version"] == expected + 1
        assert response.headers["ETag"] == f'"{expected + 1}"'


async def test_openapi_documents_headers_and_conditional_responses(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()
    item = document["paths"]["/api/v1/todos/{todo_id}"]
    assert "304" in item["get"]["responses"]
    assert {"412", "428", "422", "404"} <= set(item["patch"]["responses"])
    assert item["patch"]["responses"]["412"]["content"].keys() == {"application/problem+json"}
    header_names = {p["name"] for p in item["patch"]["parameters"] if p["in"] == "header"}
    assert "If-Match" in header_names
    assert "If-None-Match" in {p["name"] for p in item["get"]["parameters"] if p["in"] == "header"}
