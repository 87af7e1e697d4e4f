"""POST /auth/register: the private view, e-mail normalization, duplicates, password policy, bodies."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from uuid import UUID

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


async def test_rejects_a_blank_or_too_long_display_name(api: Api) -> None:
    for display_name in ("   ", "x" * 101):
        body = assert_problem(await api.register(display_name=display_name), 422)
        assert set(field_errors(body)) == {"display_name"}, display_name


async def test_rejects_an_invalid_email_with_a_field_error(api: Api) -> None:
    for email in ("not-an-email", "ada@", "a b@example.com", "a" * 250 + "@example.com"):
        body = assert_problem(await api.register(email=email), 422)
        assert set(field_errors(body)) == {"email"}, email


async def test_duplicate_email_in_any_spelling_is_409(api: Api) -> None:
    assert (await api.register("ada@example.com")).status_code == 201

    for spelling in ("ada@example.com", "ADA@EXAMPLE.COM", "  Ada@example.com\t"):
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


POLICY_VIOLATIONS = {
    "7 characters": "Abc-12x",
    "129 characters": "x" * 129,
    "common": "password1",
    "common in another case": "Qwerty123",
    "the email": "ada@example.com",
    "the email in another case": "ADA@Example.com",
}


async def test_password_policy_violations_are_422_on_the_password_field(api: Api) -> None:
    for case, password in POLICY_VIOLATIONS.items():
        response = await api.register("ada@example.com", password)

        assert set(field_errors(assert_problem(response, 422))) == {"password"}, case
        assert password not in response.text, case

    # Nothing was created: the address is still free.
    assert (await api.register("ada@example.com")).status_code == 201


async def test_passwords_at_the_length_bounds_are_accepted(api: Api) -> None:
    accepted = {"8 characters": "Abc-12xy", "128 characters": "x7-" * 42 + "ab", "8 code points": "ключзамо"}
    for n, (case, password) in enumerate(accepted.items()):
        email = f"user{n}@example.com"
        assert (await api.register(email, password)).status_code == 201, case
        assert (await api.login(email, password)).status_code == 200, case


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


async def test_a_missing_field_or_a_body_of_the_wrong_shape_is_a_422_problem(api: Api) -> None:
    bodies: list[object] = [
        {"email": "ada@example.com"},
        {"password": PASSWORD},
        {},
        [],
        "ada@example.com",
        {"email": 7, "password": PASSWORD},
    ]
    for body in bodies:
        assert field_errors(assert_problem(await api.client.post(REGISTER, json=body), 422)), body


async def test_a_body_that_is_not_json_is_a_4xx_problem(api: Api) -> None:
    for content, content_type in [
        (b"email=ada%40example.com&password=a-sturdy-passphrase-42", "application/x-www-form-urlencoded"),
        (b"ada@example.com a-sturdy-passphrase-42", "text/plain"),
        (b"<user><email>ada@example.com</email></user>", "application/xml"),
        (b"", "application/json"),
    ]:
        response = await api.client.post(REGISTER, content=content, headers={"content-type": content_type})
        assert response.status_code in (400, 415, 422), (content_type, response.text)
        assert_problem(response, response.status_code)


async def test_a_json_body_sent_with_a_non_json_content_type_is_refused(api: Api) -> None:
    """The contract takes `application/json` bodies and lists 415 for other media types."""
    content = json.dumps({"email": "ada@example.com", "password": PASSWORD}).encode()

    response = await api.client.post(REGISTER, content=content, headers={"content-type": "text/plain"})

    assert response.status_code in (400, 415), response.text
    assert_problem(response, response.status_code)
    assert (await api.register()).status_code == 201  # nothing was created
