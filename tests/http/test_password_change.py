"""POST /auth/password: proves the current password, obeys the policy, revokes the other sessions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.http.conftest import API, PASSWORD, Api
from tests.http.helpers import assert_problem, assert_unauthorized, field_errors, me, refresh

CHANGE = f"{API}/auth/password"
NEW = "a-brand-new-passphrase-7"
THRESHOLD = 3


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"lockout_threshold": THRESHOLD, "lockout_window": 600, "lockout_duration": 600}


async def change(api: Api, access_token: str, current: str = PASSWORD, new: str = NEW) -> httpx.Response:
    body = {"current_password": current, "new_password": new}
    return await api.client.post(CHANGE, headers=api.bearer(access_token), json=body)


async def test_change_is_204_and_swaps_the_password(api: Api) -> None:
    tokens = await api.tokens()

    response = await change(api, tokens["access_token"])

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert_unauthorized(await api.login(password=PASSWORD))
    assert (await api.login(password=NEW)).status_code == 200


async def test_change_revokes_the_other_sessions_but_keeps_the_current_one(api: Api) -> None:
    current = await api.tokens()
    other = await api.tokens()
    grace = await api.tokens("grace@example.com")

    assert (await change(api, current["access_token"])).status_code == 204

    assert_unauthorized(await me(api, other["access_token"]))
    assert_unauthorized(await refresh(api, other["refresh_token"]))
    assert (await me(api, current["access_token"])).status_code == 200
    assert (await refresh(api, current["refresh_token"])).status_code == 200
    assert (await me(api, grace["access_token"])).status_code == 200


async def test_change_moves_updated_at_only(api: Api) -> None:
    tokens = await api.tokens()
    api.clock.advance(timedelta(minutes=10))

    await change(api, tokens["access_token"])

    user = (await me(api, tokens["access_token"])).json()
    assert user["created_at"] == "2026-11-22T10:00:00Z"
    assert user["updated_at"] == "2026-11-22T10:10:00Z"


async def test_a_wrong_current_password_is_422_on_current_password(api: Api) -> None:
    tokens = await api.tokens()

    response = await change(api, tokens["access_token"], current="not-the-passphrase")

    assert set(field_errors(assert_problem(response, 422))) == {"current_password"}
    assert "not-the-passphrase" not in response.text
    assert (await me(api, tokens["access_token"])).status_code == 200
    assert (await api.login(password=PASSWORD)).status_code == 200
    assert_unauthorized(await api.login(password=NEW))


async def test_a_new_password_breaking_the_policy_is_422_on_new_password(api: Api) -> None:
    tokens = await api.tokens()
    other = await api.tokens()

    violations = {"7 characters": "Abc-12x", "129": "y" * 129, "common": "Password1", "email": "ADA@example.com"}
    for case, new in violations.items():
        response = await change(api, tokens["access_token"], new=new)
        assert set(field_errors(assert_problem(response, 422))) == {"new_password"}, case

    assert (await api.login(password=PASSWORD)).status_code == 200
    assert (await me(api, other["access_token"])).status_code == 200


async def test_wrong_current_passwords_count_towards_the_lockout(api: Api) -> None:
    tokens = await api.tokens()
    for _ in range(THRESHOLD):
        assert_problem(await change(api, tokens["access_token"], current="not-the-passphrase"), 422)

    login = await api.login()
    again = await change(api, tokens["access_token"])

    assert_problem(login, 429)
    assert int(login.headers["retry-after"]) == 600
    assert_problem(again, 429)
    assert int(again.headers["retry-after"]) == 600


async def test_login_failures_lock_password_changes_too(api: Api) -> None:
    tokens = await api.tokens()
    for _ in range(THRESHOLD):
        assert_unauthorized(await api.login(password="not-the-passphrase"))

    response = await change(api, tokens["access_token"])

    assert_problem(response, 429)
    assert "retry-after" in response.headers
    assert (await api.login(password=PASSWORD)).status_code == 429


async def test_change_needs_a_token(api: Api) -> None:
    body = {"current_password": PASSWORD, "new_password": NEW}
    assert_unauthorized(await api.client.post(CHANGE, json=body))


async def test_an_incomplete_or_unknown_body_is_422(api: Api) -> None:
    tokens = await api.tokens()
    other = await api.tokens()
    bodies: list[dict[str, Any]] = [
        {"current_password": PASSWORD},
        {"new_password": NEW},
        {"current_password": PASSWORD, "new_password": NEW, "logout_others": False},
    ]
    for body in bodies:
        response = await api.client.post(CHANGE, headers=api.bearer(tokens["access_token"]), json=body)
        assert_problem(response, 422)

    assert (await me(api, other["access_token"])).status_code == 200
    assert (await api.login(password=PASSWORD)).status_code == 200
