"""Inputs that gave 500s or a wrong answer (issue 7), on both databases: each is now a 4xx
problem or a correct answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.http.conftest import API, Api, running_api
from tests.http.helpers import assert_problem, field_errors
from tests.support.services import truncate_pg
from tests.support.settings import test_settings

NAIVE = "2030-01-01T10:00:00"
PLUS_FIVE = "2030-01-01T10:00:00+05:00"
PLUS_FIVE_IN_UTC = "2030-01-01T05:00:00Z"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh SQLite file, or the process's PostgreSQL database (emptied by ``any_api``)."""
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_database")
    return url


@pytest.fixture
async def any_api(database_url: str) -> AsyncIterator[Api]:
    if database_url.startswith("postgresql"):
        await truncate_pg(database_url)
    async with running_api(test_settings(database_url)) as api:
        yield api


async def signed_in(api: Api, email: str = "ada@example.com") -> dict[str, str]:
    return api.bearer((await api.tokens(email))["access_token"])


async def a_todo(api: Api, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await api.client.post(f"{API}/todos", json={"title": "Buy milk", **body}, headers=auth)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_a_page_number_beyond_the_bound_is_a_422_naming_page(any_api: Api) -> None:
    auth = await signed_in(any_api)
    response = await any_api.client.get(f"{API}/todos?page=997721823854717244896399251734528", headers=auth)
    assert field_errors(assert_problem(response, 422)).keys() == {"page"}


async def test_the_last_allowed_page_is_an_empty_page(any_api: Api) -> None:
    auth = await signed_in(any_api)
    response = await any_api.client.get(f"{API}/todos?page=1000000", headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


@pytest.mark.parametrize("method", ["post", "put", "patch"])
async def test_a_due_at_without_offset_is_a_422_naming_due_at(any_api: Api, method: str) -> None:
    auth = await signed_in(any_api)
    todo = await a_todo(any_api, auth)
    url = f"{API}/todos" if method == "post" else f"{API}/todos/{todo['id']}"
    body = {"title": "Buy milk", "due_at": NAIVE} | ({} if method == "post" else {"version": 1})
    response = await any_api.client.request(method.upper(), url, json=body, headers=auth)
    assert field_errors(assert_problem(response, 422)).keys() == {"due_at"}


async def test_a_due_at_with_an_offset_is_given_back_in_utc_everywhere(any_api: Api) -> None:
    auth = await signed_in(any_api)
    created = await a_todo(any_api, auth, due_at=PLUS_FIVE)
    assert created["due_at"] == PLUS_FIVE_IN_UTC
    url = f"{API}/todos/{created['id']}"
    read = await any_api.client.get(url, headers=auth)
    listed = await any_api.client.get(f"{API}/todos", headers=auth)
    assert read.json()["due_at"] == PLUS_FIVE_IN_UTC
    assert listed.json()["items"][0]["due_at"] == PLUS_FIVE_IN_UTC
    patched = await any_api.client.patch(url, json={"due_at": "2030-01-01T10:00:00-02:30", "version": 1}, headers=auth)
    replaced = await any_api.client.put(url, json={"title": "t", "due_at": PLUS_FIVE, "version": 2}, headers=auth)
    assert patched.json()["due_at"] == "2030-01-01T12:30:00Z"
    assert replaced.json()["due_at"] == PLUS_FIVE_IN_UTC


@pytest.mark.parametrize(
    "if_match",
    [b'"\xb2"', '"²"'.encode(), b'"' + b"1" * 4301 + b'"', b'"\xd9\xa1"', b'"12345678901234567890"'],
    ids=["latin1-superscript-two", "utf8-superscript-two", "4301-digits", "arabic-indic-one", "20-digits"],
)
async def test_an_entity_tag_that_is_no_version_is_a_412(any_api: Api, if_match: bytes) -> None:
    auth = await signed_in(any_api)
    todo = await a_todo(any_api, auth)
    url = f"{API}/todos/{todo['id']}"
    for response in (
        await any_api.client.put(url, json={"title": "t"}, headers={**auth, "If-Match": if_match}),
        await any_api.client.patch(f"{url}/toggle", headers={**auth, "If-Match": if_match}),
        await any_api.client.delete(url, headers={**auth, "If-Match": if_match}),
    ):
        assert assert_problem(response, 412)["current_version"] == 1
    read = await any_api.client.get(url, headers={**auth, "If-None-Match": if_match})
    assert read.status_code == 200


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"title":' * 100_000], ids=["arrays", "objects"])
async def test_a_body_nested_100000_levels_deep_is_a_4xx_problem(any_api: Api, body: bytes) -> None:
    """The strict, typed decode refuses it at the first wrong type (422); were it decoded
    untyped, msgspec's RecursionError would be a 400."""
    auth = await signed_in(any_api)
    headers = {**auth, "Content-Type": "application/json"}
    response = await any_api.client.post(f"{API}/todos", content=body, headers=headers)
    assert response.status_code in {400, 422}, response.text
    assert_problem(response, response.status_code)


@pytest.mark.parametrize("email", ["a\x00b@example.com", "ada@exa\x00mple.com", "ada\x01@example.com"])
async def test_an_email_with_a_control_character_is_refused_at_registration(any_api: Api, email: str) -> None:
    response = await any_api.register(email)
    assert field_errors(assert_problem(response, 422)).keys() == {"email"}


async def test_logging_in_with_a_nul_in_the_email_is_a_plain_401(any_api: Api) -> None:
    await any_api.register("ab@example.com")
    response = await any_api.login("a\x00b@example.com")
    assert_problem(response, 401)


@pytest.mark.parametrize("name", ["Ada\x00", "A\x00da", "Ada\x1b[31m"])
async def test_a_display_name_with_a_control_character_is_a_422(any_api: Api, name: str) -> None:
    response = await any_api.register(display_name=name)
    assert field_errors(assert_problem(response, 422)).keys() == {"display_name"}


@pytest.mark.parametrize(
    ("field", "value"), [("title", "Buy\x00milk"), ("title", "Buy\nmilk"), ("description", "\x00")]
)
async def test_a_todo_text_with_a_forbidden_control_character_is_a_422(any_api: Api, field: str, value: str) -> None:
    auth = await signed_in(any_api)
    todo = await a_todo(any_api, auth)
    body = {"title": "Buy milk", field: value}
    created = await any_api.client.post(f"{API}/todos", json=body, headers=auth)
    patched = await any_api.client.patch(f"{API}/todos/{todo['id']}", json={field: value, "version": 1}, headers=auth)
    assert field_errors(assert_problem(created, 422)).keys() == {field}
    assert field_errors(assert_problem(patched, 422)).keys() == {field}


async def test_a_description_keeps_its_line_breaks_and_tabs(any_api: Api) -> None:
    auth = await signed_in(any_api)
    assert (await a_todo(any_api, auth, description="oat\n\tand soy"))["description"] == "oat\n\tand soy"


@pytest.mark.parametrize("due_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_a_due_at_outside_the_representable_range_in_utc_is_a_422(any_api: Api, due_at: str) -> None:
    auth = await signed_in(any_api)
    response = await any_api.client.post(f"{API}/todos", json={"title": "x", "due_at": due_at}, headers=auth)
    assert field_errors(assert_problem(response, 422)).keys() == {"due_at"}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/auth/login", b'{"email": "\xe9@example.com", "password": "x"}'),
        ("/auth/register", b'{"email": "\xe9@example.com", "password": "x"}'),
        ("/todos", b'{"title": "caf\xe9"}'),
    ],
)
async def test_a_json_body_that_is_not_utf8_is_a_400(any_api: Api, path: str, body: bytes) -> None:
    auth = await signed_in(any_api)
    headers = {**auth, "Content-Type": "application/json"}
    response = await any_api.client.post(f"{API}{path}", content=body, headers=headers)
    assert_problem(response, 400)
