"""Access tokens on GET /auth/me: what is accepted, what is refused, and for whom."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, update

from adapters.sql.tables import users
from tests.http.conftest import API, Api
from tests.http.helpers import (
    OTHER_SECRET,
    PRIVATE_VIEW_KEYS,
    assert_unauthorized,
    claims_of,
    me,
    refresh,
    run_sql,
    sign,
    unsigned,
)

ME = f"{API}/auth/me"


async def test_me_returns_the_private_view_of_the_token_owner(api: Api) -> None:
    registered = (await api.register("ada@example.com", display_name="Ada")).json()
    await api.register("grace@example.com")

    response = await me(api, (await api.tokens("ada@example.com"))["access_token"])

    assert response.status_code == 200, response.text
    assert set(response.json()) == PRIVATE_VIEW_KEYS
    assert response.json() == registered


async def test_me_without_a_token_is_401(api: Api) -> None:
    assert_unauthorized(await api.client.get(ME))


async def test_malformed_authorization_is_401(api: Api) -> None:
    for authorization in ("Bearer", "Bearer ", "Bearer not-a-jwt", "Bearer a.b.c", "Basic YWRhOnB3", "Token abc"):
        response = await api.client.get(ME, headers={"Authorization": authorization})
        assert response.status_code == 401, authorization
        assert_unauthorized(response)


def _alg_none(claims: dict[str, Any]) -> str:
    return unsigned(claims)


def _other_secret(claims: dict[str, Any]) -> str:
    return sign(claims, secret=OTHER_SECRET)


def _other_algorithm(claims: dict[str, Any]) -> str:
    return sign(claims, algorithm="HS384")


def _wrong_audience(claims: dict[str, Any]) -> str:
    return sign({**claims, "aud": "someone-else"})


def _wrong_issuer(claims: dict[str, Any]) -> str:
    return sign({**claims, "iss": "evil"})


def _expired(claims: dict[str, Any]) -> str:
    return sign({**claims, "iat": claims["iat"] - 3600, "exp": claims["iat"] - 1800})


def _without_sid(claims: dict[str, Any]) -> str:
    return sign({key: value for key, value in claims.items() if key != "sid"})


def _without_jti(claims: dict[str, Any]) -> str:
    return sign({key: value for key, value in claims.items() if key != "jti"})


def _unknown_session(claims: dict[str, Any]) -> str:
    return sign({**claims, "sid": str(uuid.uuid4())})


def _another_user(claims: dict[str, Any]) -> str:
    return sign({**claims, "sub": str(uuid.uuid4())})


def _tampered_payload(claims: dict[str, Any]) -> str:
    header, _, signature = sign(claims).split(".")
    payload = unsigned({**claims, "role": "admin"}).split(".")[1]
    return f"{header}.{payload}.{signature}"


FORGERIES: list[Callable[[dict[str, Any]], str]] = [
    _alg_none,
    _other_secret,
    _other_algorithm,
    _wrong_audience,
    _wrong_issuer,
    _expired,
    _without_sid,
    _without_jti,
    _unknown_session,
    _another_user,
    _tampered_payload,
]


async def test_forged_or_invalid_tokens_are_401(api: Api) -> None:
    genuine = (await api.tokens())["access_token"]

    accepted = []
    for forge in FORGERIES:
        response = await me(api, forge(claims_of(genuine)))
        if response.status_code == 401:
            assert_unauthorized(response)
        else:
            accepted.append((forge.__name__, response.status_code))

    assert accepted == []
    assert (await me(api, genuine)).status_code == 200


async def test_a_re_signed_copy_of_a_genuine_token_is_accepted(api: Api) -> None:
    """Guards the forgery tests: they fail for the one change they make, not for the signing helper."""
    genuine = (await api.tokens())["access_token"]
    assert (await me(api, sign(claims_of(genuine)))).status_code == 200


async def test_access_token_expires_after_its_lifetime(api: Api) -> None:
    tokens = await api.tokens()

    api.clock.advance(timedelta(seconds=899))
    assert (await me(api, tokens["access_token"])).status_code == 200

    api.clock.advance(timedelta(seconds=7))
    assert_unauthorized(await me(api, tokens["access_token"]))

    renewed = (await refresh(api, tokens["refresh_token"])).json()
    assert (await me(api, renewed["access_token"])).status_code == 200


async def deactivate(api: Api, email: str = "ada@example.com") -> None:
    await run_sql(api, update(users).where(users.c.email == email).values(is_active=False))


async def test_deactivated_user_is_refused_everywhere(api: Api) -> None:
    tokens = await api.tokens()
    wrong_password = await api.login(password="not-the-passphrase")

    await deactivate(api)

    assert_unauthorized(await me(api, tokens["access_token"]))
    assert_unauthorized(await refresh(api, tokens["refresh_token"]))
    login = await api.login()
    assert_unauthorized(login)
    assert login.content == wrong_password.content


async def test_deactivating_one_user_leaves_others_alone(api: Api) -> None:
    grace = await api.tokens("grace@example.com")
    await api.tokens("ada@example.com")

    await deactivate(api, "ada@example.com")

    assert (await me(api, grace["access_token"])).status_code == 200


async def test_deleted_user_is_refused_everywhere(api: Api) -> None:
    tokens = await api.tokens()

    await run_sql(api, delete(users).where(users.c.email == "ada@example.com"))

    assert_unauthorized(await me(api, tokens["access_token"]))
    assert_unauthorized(await refresh(api, tokens["refresh_token"]))
    assert_unauthorized(await api.login())


@pytest.mark.parametrize("path", ["/auth/me", "/auth/sessions", "/todos"])
async def test_a_role_changed_behind_the_apps_back_ends_the_token_not_trusts_it(api: Api, path: str) -> None:
    """The application ends an account's sessions whenever it changes its role; a change
    made in SQL meets the token's claim instead: neither role is taken on trust (401), and
    a fresh login carries the store's."""
    tokens = await api.tokens()
    await run_sql(api, update(users).where(users.c.email == "ada@example.com").values(role="admin"))

    assert_unauthorized(await api.client.get(f"{API}{path}", headers=api.bearer(tokens["access_token"])))

    fresh = (await api.login()).json()["access_token"]
    assert claims_of(fresh)["role"] == "admin"
    assert (await me(api, fresh)).json()["role"] == "admin"
