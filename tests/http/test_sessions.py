"""GET /auth/sessions and DELETE /auth/sessions/{id}: the caller's live sessions, and revoking one."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from tests.http.conftest import API, PASSWORD, Api
from tests.http.helpers import (
    RFC3339_UTC,
    assert_problem,
    assert_unauthorized,
    claims_of,
    logout,
    me,
    refresh,
    sessions,
)

SESSIONS = f"{API}/auth/sessions"
SESSION_KEYS = {"id", "created_at", "last_used_at", "user_agent", "ip", "current"}


async def login_from(api: Api, user_agent: str, email: str = "ada@example.com") -> dict[str, Any]:
    await api.register(email)
    response = await api.client.post(
        f"{API}/auth/login", json={"email": email, "password": PASSWORD}, headers={"user-agent": user_agent}
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def sid(tokens: dict[str, Any]) -> str:
    session_id: str = claims_of(tokens["access_token"])["sid"]
    return session_id


async def revoke(api: Api, access_token: str, session_id: str) -> Any:
    return await api.client.delete(f"{SESSIONS}/{session_id}", headers=api.bearer(access_token))


async def test_lists_the_callers_live_sessions_newest_first_with_the_current_one_marked(api: Api) -> None:
    laptop = await login_from(api, "Laptop/1.0 (X11)")
    api.clock.advance(timedelta(minutes=1))
    phone = await login_from(api, "Phone/2.0 (Android)")

    items = await sessions(api, laptop["access_token"])

    assert [item["id"] for item in items] == [sid(phone), sid(laptop)]
    for item in items:
        assert set(item) == SESSION_KEYS
        assert item["ip"] == "203.0.113.7"
        assert RFC3339_UTC.match(item["created_at"])
        assert RFC3339_UTC.match(item["last_used_at"])
    assert [item["user_agent"] for item in items] == ["Phone/2.0 (Android)", "Laptop/1.0 (X11)"]
    assert [item["current"] for item in items] == [False, True]
    assert items[0]["created_at"] == "2026-11-22T10:01:00Z"
    assert items[1]["created_at"] == items[1]["last_used_at"] == "2026-11-22T10:00:00Z"


async def test_exactly_one_session_is_current_for_each_caller(api: Api) -> None:
    all_tokens = [await login_from(api, f"Client/{n}") for n in range(3)]
    for tokens in all_tokens:
        items = await sessions(api, tokens["access_token"])
        assert [item["id"] for item in items if item["current"]] == [sid(tokens)]


async def test_ended_sessions_and_other_users_sessions_are_not_listed(api: Api) -> None:
    kept = await login_from(api, "Kept/1")
    ended = await login_from(api, "Ended/1")
    await login_from(api, "Grace/1", email="grace@example.com")
    await logout(api, ended["access_token"])

    items = await sessions(api, kept["access_token"])

    assert [item["id"] for item in items] == [sid(kept)]


async def test_last_used_at_moves_on_refresh(api: Api) -> None:
    tokens = await login_from(api, "Client/1")
    api.clock.advance(timedelta(hours=2))
    renewed = (await refresh(api, tokens["refresh_token"])).json()

    [item] = await sessions(api, renewed["access_token"])

    assert item["created_at"] == "2026-11-22T10:00:00Z"
    assert item["last_used_at"] == "2026-11-22T12:00:00Z"


async def test_an_overlong_user_agent_is_kept_truncated(api: Api) -> None:
    user_agent = "Agent/" + "x" * 700

    tokens = await login_from(api, user_agent)

    [item] = await sessions(api, tokens["access_token"])
    assert item["user_agent"] == user_agent[:512]


async def test_listing_sessions_needs_a_token(api: Api) -> None:
    assert_unauthorized(await api.client.get(SESSIONS))


async def test_revoking_another_of_ones_sessions_ends_it_at_once(api: Api) -> None:
    laptop = await login_from(api, "Laptop/1")
    phone = await login_from(api, "Phone/1")

    response = await revoke(api, laptop["access_token"], sid(phone))

    assert response.status_code == 204, response.text
    assert_unauthorized(await me(api, phone["access_token"]))
    assert_unauthorized(await refresh(api, phone["refresh_token"]))
    assert (await me(api, laptop["access_token"])).status_code == 200
    assert [item["id"] for item in await sessions(api, laptop["access_token"])] == [sid(laptop)]


async def test_revoking_the_current_session_ends_it(api: Api) -> None:
    tokens = await login_from(api, "Client/1")
    assert (await revoke(api, tokens["access_token"], sid(tokens))).status_code == 204
    assert_unauthorized(await me(api, tokens["access_token"]))


async def test_revoking_an_already_ended_session_of_ones_own_is_204(api: Api) -> None:
    laptop = await login_from(api, "Laptop/1")
    phone = await login_from(api, "Phone/1")
    await logout(api, phone["access_token"])

    assert (await revoke(api, laptop["access_token"], sid(phone))).status_code == 204


async def test_someone_elses_session_is_404_and_stays_live(api: Api) -> None:
    ada = await login_from(api, "Ada/1")
    grace = await login_from(api, "Grace/1", email="grace@example.com")

    assert_problem(await revoke(api, ada["access_token"], sid(grace)), 404)

    assert (await me(api, grace["access_token"])).status_code == 200


async def test_an_unknown_session_id_is_404_like_someone_elses(api: Api) -> None:
    ada = await login_from(api, "Ada/1")
    grace = await login_from(api, "Grace/1", email="grace@example.com")

    unknown = await revoke(api, ada["access_token"], str(uuid.uuid4()))
    foreign = await revoke(api, ada["access_token"], sid(grace))

    assert_problem(unknown, 404)
    assert {key: value for key, value in unknown.json().items() if key not in ("instance", "detail")} == {
        key: value for key, value in foreign.json().items() if key not in ("instance", "detail")
    }


async def test_a_session_id_that_is_not_a_uuid_is_a_problem_not_a_crash(api: Api) -> None:
    tokens = await login_from(api, "Client/1")
    for session_id in ("not-a-uuid", "123", "01a2097e-bec2-7445-aa48", "%00"):
        response = await revoke(api, tokens["access_token"], session_id)
        assert response.status_code in (404, 422), response.text
        assert_problem(response, response.status_code)
    assert (await me(api, tokens["access_token"])).status_code == 200


async def test_revoking_a_session_needs_a_token(api: Api) -> None:
    assert_unauthorized(await api.client.delete(f"{SESSIONS}/{uuid.uuid4()}"))
