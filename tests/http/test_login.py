"""POST /auth/login and /auth/token: the token pair, its claims, and failures that reveal nothing."""

from __future__ import annotations

from uuid import UUID

import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy import select, update

from adapters.sql.tables import users
from tests.http.conftest import API, PASSWORD, Api
from tests.http.helpers import assert_problem, assert_token_pair, assert_unauthorized, claims_of, me, run_sql
from tests.support.builders import T0

LOGIN = f"{API}/auth/login"
TOKEN = f"{API}/auth/token"


async def test_login_returns_a_bearer_token_pair_that_is_not_cached(api: Api) -> None:
    await api.register()

    response = await api.login()

    body = assert_token_pair(response)
    assert body["refresh_token"]
    assert body["refresh_token"] != body["access_token"]
    assert (await me(api, body["access_token"])).status_code == 200


async def test_access_token_carries_the_contract_claims(api: Api) -> None:
    user = (await api.register()).json()

    claims = claims_of((await api.tokens())["access_token"])

    assert {"sub", "sid", "role", "iat", "exp", "iss", "aud", "jti"} <= set(claims)
    assert claims["sub"] == user["id"]
    UUID(claims["sid"])
    assert claims["role"] == "user"
    assert claims["iat"] == int(T0.timestamp())
    assert claims["exp"] - claims["iat"] == 900
    assert claims["iss"] == "portside"
    assert claims["aud"] == "portside-api"
    assert claims["jti"]


async def test_each_login_opens_its_own_session_with_fresh_tokens(api: Api) -> None:
    first = await api.tokens()
    second = await api.tokens()

    assert claims_of(first["access_token"])["sid"] != claims_of(second["access_token"])["sid"]
    assert claims_of(first["access_token"])["jti"] != claims_of(second["access_token"])["jti"]
    assert first["refresh_token"] != second["refresh_token"]


async def test_login_email_is_trimmed_and_case_insensitive(api: Api) -> None:
    user = (await api.register("ada@example.com")).json()

    for spelling in ("ADA@EXAMPLE.COM", "  Ada@Example.com  "):
        response = await api.login(spelling)

        assert response.status_code == 200, response.text
        assert claims_of(response.json()["access_token"])["sub"] == user["id"]


async def test_password_is_case_sensitive(api: Api) -> None:
    await api.register()
    assert_unauthorized(await api.login(password=PASSWORD.upper()))


async def test_unknown_email_and_wrong_password_give_byte_identical_401s(api: Api) -> None:
    await api.register()

    wrong_password = await api.login("ada@example.com", "not-the-passphrase")

    assert_unauthorized(wrong_password)
    for email in ("nobody@example.com", "not-an-email"):
        unknown_email = await api.login(email, PASSWORD)
        assert_unauthorized(unknown_email)
        assert wrong_password.content == unknown_email.content, email
        assert wrong_password.headers["www-authenticate"] == unknown_email.headers["www-authenticate"]


async def test_a_failed_login_says_nothing_about_the_password(api: Api) -> None:
    await api.register()
    response = await api.login(password="not-the-passphrase")
    assert "not-the-passphrase" not in response.text
    assert "password" not in response.json()


async def test_token_endpoint_logs_in_with_an_oauth2_password_form(api: Api) -> None:
    user = (await api.register()).json()

    response = await api.client.post(TOKEN, data={"username": "ADA@example.com", "password": PASSWORD})

    body = assert_token_pair(response)
    assert claims_of(body["access_token"])["sub"] == user["id"]
    assert (await me(api, body["access_token"])).status_code == 200


async def test_token_endpoint_accepts_the_grant_type_the_docs_ui_sends(api: Api) -> None:
    await api.register()
    form = {"grant_type": "password", "username": "ada@example.com", "password": PASSWORD, "scope": ""}
    assert (await api.client.post(TOKEN, data=form)).status_code == 200


async def test_token_endpoint_refuses_bad_credentials_like_login(api: Api) -> None:
    await api.register()

    form = await api.client.post(TOKEN, data={"username": "ada@example.com", "password": "not-the-passphrase"})
    unknown = await api.client.post(TOKEN, data={"username": "nobody@example.com", "password": PASSWORD})

    assert_unauthorized(form)
    assert form.content == unknown.content


async def test_token_endpoint_with_a_missing_field_is_a_422_problem(api: Api) -> None:
    assert_problem(await api.client.post(TOKEN, data={"username": "ada@example.com"}), 422)


async def test_login_with_a_missing_or_mistyped_field_is_a_422_problem(api: Api) -> None:
    for body in ({"email": "ada@example.com"}, {"email": "ada@example.com", "password": 1}, {"password": PASSWORD}):
        assert_problem(await api.client.post(LOGIN, json=body), 422)


@pytest.mark.parametrize("path", [LOGIN, TOKEN])
async def test_an_overlong_email_is_refused_without_a_server_error(api: Api, path: str) -> None:
    """LoginBody allows 320 characters; no account can have more than 254."""
    email = "a" * 290 + "@example.com"
    if path == LOGIN:
        response = await api.client.post(path, json={"email": email, "password": PASSWORD})
    else:
        response = await api.client.post(path, data={"username": email, "password": PASSWORD})
    assert response.status_code in (401, 422), response.text
    assert_problem(response, response.status_code)


async def test_successful_login_upgrades_a_hash_with_outdated_parameters(api: Api) -> None:
    await api.register()
    old_hash = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1, type=Type.ID).hash(PASSWORD)
    await run_sql(api, update(users).where(users.c.email == "ada@example.com").values(password_hash=old_hash))

    assert (await api.login()).status_code == 200

    [[(stored,)]] = await run_sql(api, select(users.c.password_hash).where(users.c.email == "ada@example.com"))
    assert stored != old_hash
    assert stored.startswith("$argon2id$")
    assert "m=1024,t=1,p=1" in stored
    assert (await api.login()).status_code == 200


async def test_passwords_are_stored_as_argon2id_hashes(api: Api) -> None:
    await api.register()
    [[(stored,)]] = await run_sql(api, select(users.c.password_hash))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_default_lockout_is_five_failures_for_fifteen_minutes(api: Api) -> None:
    await api.register()
    for _ in range(5):
        assert_unauthorized(await api.login(password="not-the-passphrase"))

    locked = await api.login()

    assert_problem(locked, 429)
    assert locked.headers["retry-after"] == "900"
