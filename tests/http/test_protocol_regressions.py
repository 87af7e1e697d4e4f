"""Headers, OPTIONS and the OpenAPI document agree with what the app does (issue 7)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.conftest import API, Api
from tests.http.helpers import assert_problem, assert_unauthorized


async def openapi(api: Api) -> dict[str, Any]:
    response = await api.client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_request_headers_over_16_kib_are_refused_with_431(api: Api) -> None:
    response = await api.client.get(f"{API}/auth/me", headers={"Authorization": "Bearer " + "a" * 16_500})
    assert_problem(response, 431)


async def test_request_headers_just_under_16_kib_are_served(api: Api) -> None:
    response = await api.client.get("/health", headers={"X-Padding": "a" * 15_000})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/auth/me", "/auth/sessions", "/todos"])
async def test_every_authenticated_response_says_no_store(api: Api, path: str) -> None:
    auth = api.bearer((await api.tokens())["access_token"])
    response = await api.client.get(f"{API}{path}", headers=auth)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"


async def test_a_refused_credential_is_not_cached_either(api: Api) -> None:
    response = await api.client.get(f"{API}/todos", headers=api.bearer("not-a-token"))
    assert_unauthorized(response)
    assert response.headers["cache-control"] == "no-store"


async def test_an_anonymous_response_gets_no_cache_policy_from_us(api: Api) -> None:
    response = await api.client.get("/health")
    assert "cache-control" not in response.headers


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/todos", "GET, OPTIONS, POST"),
        ("/todos/0192f000-0000-7000-8000-000000000000", "DELETE, GET, OPTIONS, PATCH, PUT"),
        ("/auth/logout", "OPTIONS, POST"),
    ],
)
async def test_options_allows_every_method_of_the_path(api: Api, path: str, allowed: str) -> None:
    response = await api.client.options(f"{API}{path}")
    assert response.status_code == 204
    assert response.headers["allow"] == allowed


async def test_json_request_bodies_are_documented_closed(api: Api) -> None:
    document = await openapi(api)
    schemas = document["components"]["schemas"]
    bodies = [
        operation["requestBody"]["content"]["application/json"]["schema"]
        for path in document["paths"].values()
        for operation in path.values()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]
    refs = {ref["$ref"].rsplit("/", 1)[1] for body in bodies for ref in [body, *body.get("oneOf", [])] if "$ref" in ref}
    assert refs >= {"RegisterBody", "LoginBody", "LogoutBody", "TodoCreate", "TodoPatch", "TodoReplace"}
    assert {name: schemas[name].get("additionalProperties") for name in refs} == dict.fromkeys(refs, False)


async def test_the_token_form_is_documented_open_and_accepts_extra_fields(api: Api) -> None:
    assert (await openapi(api))["components"]["schemas"]["TokenForm"].get("additionalProperties") is not False
    await api.register()
    form = {"username": "ada@example.com", "password": "a-sturdy-passphrase-42", "client_id": "docs"}
    assert (await api.client.post(f"{API}/auth/token", data=form)).status_code == 200


async def test_the_logout_body_is_documented_optional(api: Api) -> None:
    body = (await openapi(api))["paths"][f"{API}/auth/logout"]["post"]["requestBody"]
    assert body["required"] is False
    assert (await openapi(api))["paths"][f"{API}/todos"]["post"]["requestBody"]["required"] is True


async def test_the_page_bound_is_documented(api: Api) -> None:
    parameters = (await openapi(api))["paths"][f"{API}/todos"]["get"]["parameters"]
    page = next(p for p in parameters if p["name"] == "page")
    assert page["schema"]["maximum"] == 1_000_000
