"""POST /auth/register: the private view, e-mail normalization, duplicates, password policy, bodies."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID

import pytest

from domain.identity.password_policy import common_passwords
from tests.http.conftest import API, PASSWORD, Api
from tests.http.helpers import PRIVATE_VIEW_KEYS, RFC3339_UTC, assert_problem, field_errors

REGISTER = f"{API}/auth/register"


async def test_returns_201_with_exactly_the_private_view(api: Api) -> None:
    response = await api.register(email="  Ada@Example.COM ", display_name="Ada Lovelace")

    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == PRIVATE_VIEW_KEYS
    assert UUID(body["id"]).version == 7
    assert body["email"] == "ada@example.com"
    assert body["display_name"] == "Ada Lovelace"
    assert body["role"] == "user"
    assert body["is_active"] is True
    assert RFC3339_UTC.match(body["created_at"])
    assert body["created_at"] == body["updated_at"] == "2026-11-22T10:00:00Z"


async def test_timestamps_follow_the_clock_in_utc(api: Api) -> None:
    api.clock.advance(timedelta(hours=3, minutes=7, seconds=9))
    body = (await api.register()).json()
    assert body["created_at"] == "2026-11-22T13:07:09Z"


async def test_display_name_defaults_to_the_local_part_of_the_email(api: Api) -> None:
    body = (await api.register(email="Grace.Hopper@Example.com")).json()
    assert body["display_name"] == "grace.hopper"


@pytest.mark.parametrize("display_name", ["   ", "x" * 101])
async def test_rejects_a_blank_or_too_long_display_name(api: Api, display_name: str) -> None:
    body = assert_problem(await api.register(display_name=display_name), 422)
    assert "display_name" in field_errors(body)


@pytest.mark.parametrize("email", ["not-an-email", "ada@", "a b@example.com", "a" * 250 + "@example.com"])
async def test_rejects_an_invalid_email_with_a_field_error(api: Api, email: str) -> None:
    body = assert_problem(await api.register(email=email), 422)
    assert "email" in field_errors(body)


@pytest.mark.parametrize("spelling", ["ada@example.com", "ADA@EXAMPLE.COM", "  Ada@example.com\t"])
async def test_duplicate_email_in_any_spelling_is_409(api: Api, spelling: str) -> None:
    assert (await api.register("ada@example.com")).status_code == 201

    body = assert_problem(await api.register(spelling, password="another-good-passphrase"), 409)
    assert body["type"] != "about:blank"
    # The first account is untouched: its password still works, the second one does not.
    assert (await api.login("ada@example.com", PASSWORD)).status_code == 200
    assert (await api.login("ada@example.com", "another-good-passphrase")).status_code == 401


async def test_concurrent_registrations_of_one_email_create_one_account(api: Api) -> None:
    responses = await asyncio.gather(*(api.register("race@example.com") for _ in range(4)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409, 409, 409]
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409)


def test_the_common_passwords_used_below_are_in_the_shipped_list() -> None:
    assert {"password1", "qwerty123"} <= common_passwords()


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("Abc-12x", id="7-chars"),
        pytest.param("x" * 129, id="129-chars"),
        pytest.param("password1", id="common"),
        pytest.param("Qwerty123", id="common-any-case"),
        pytest.param("ada@example.com", id="equal-to-email"),
        pytest.param("ADA@Example.com", id="equal-to-email-any-case"),
    ],
)
async def test_password_policy_violations_are_422_on_the_password_field(api: Api, password: str) -> None:
    response = await api.register("ada@example.com", password)

    assert set(field_errors(assert_problem(response, 422))) == {"password"}
    assert password not in response.text
    # Nothing was created: the address is still free.
    assert (await api.register("ada@example.com")).status_code == 201


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("Abc-12xy", id="8-chars"),
        pytest.param("x7-" * 42 + "ab", id="128-chars"),
        pytest.param("ключзамо", id="8-code-points-16-bytes"),
    ],
)
async def test_passwords_at_the_length_bounds_are_accepted(api: Api, password: str) -> None:
    assert (await api.register("ada@example.com", password)).status_code == 201
    assert (await api.login("ada@example.com", password)).status_code == 200


async def test_malformed_json_is_a_400_problem(api: Api) -> None:
    response = await api.client.post(
        REGISTER, content=b'{"email": "ada@example.com", ', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400)


async def test_an_unknown_field_is_a_422_problem(api: Api) -> None:
    response = await api.register(role="admin")
    body = assert_problem(response, 422)
    assert field_errors(body)
    # The unknown field was not a way in: no account was created, with or without the role.
    assert (await api.register()).json()["role"] == "user"


@pytest.mark.parametrize("body", [{"email": "ada@example.com"}, {"password": PASSWORD}, {}])
async def test_a_missing_field_is_a_422_problem(api: Api, body: dict[str, str]) -> None:
    assert field_errors(assert_problem(await api.client.post(REGISTER, json=body), 422))


@pytest.mark.parametrize("body", [[], "ada@example.com", {"email": 7, "password": PASSWORD}])
async def test_a_body_of_the_wrong_shape_is_a_422_problem(api: Api, body: object) -> None:
    assert field_errors(assert_problem(await api.client.post(REGISTER, json=body), 422))


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"email=ada%40example.com&password=a-sturdy-passphrase-42", "application/x-www-form-urlencoded"),
        (b"ada@example.com a-sturdy-passphrase-42", "text/plain"),
        (b"<user><email>ada@example.com</email></user>", "application/xml"),
    ],
)
async def test_a_body_that_is_not_json_is_a_4xx_problem(api: Api, content: bytes, content_type: str) -> None:
    response = await api.client.post(REGISTER, content=content, headers={"content-type": content_type})
    assert response.status_code in (400, 415, 422), response.text
    assert_problem(response, response.status_code)


async def test_an_empty_body_is_a_4xx_problem(api: Api) -> None:
    response = await api.client.post(REGISTER, headers={"content-type": "application/json"})
    assert response.status_code in (400, 422), response.text
    assert_problem(response, response.status_code)
